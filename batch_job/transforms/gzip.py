"""`gzip`: compress the original into a standard .gz stream."""

from __future__ import annotations

import zlib
from concurrent.futures import Future

from batch_job.transforms.base import Context, Sink

LEVEL = 6
"""gzip's own default: most of the gain at a fraction of level 9's time."""
GZIP_WBITS = 31
"""zlib's window bits for a gzip header and trailer."""


class Gzip:
    name = "gzip"
    output_template = "{key}.gz"
    content_type = "application/gzip"

    def check(self, context: Context) -> None:
        """Any bytes can be compressed."""

    def apply(self, context: Context, sink: Sink, checked: Future[None]) -> None:
        compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, GZIP_WBITS)
        for chunk in context.open_stream():
            sink.write(compressor.compress(chunk))
        sink.write(compressor.flush())
