"""`copy`: the original's bytes, unchanged; the plain streaming path."""

from __future__ import annotations

from concurrent.futures import Future

from batch_job.transforms.base import Context, Sink


class Copy:
    name = "copy"
    output_template = "{key}"
    content_type = "application/octet-stream"

    def check(self, context: Context) -> None:
        """Any bytes are a valid input."""

    def apply(self, context: Context, sink: Sink, checked: Future[None]) -> None:
        for chunk in context.open_stream():
            sink.write(chunk)
