"""What a transform is given and must do."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from batch_job.progress import Progress
from batch_job.source import SignedGet, Source


class Sink(Protocol):
    def write(self, data: bytes) -> None: ...


@dataclass
class Context:
    """The pinned original and the ways to read it: as a stream, or by URL for tools that seek."""

    source: Source
    open_stream: Callable[[], Iterator[bytes]]
    """A fresh pass over the original's bytes, pinned to its version, counted in progress."""
    signed_get: Callable[[], SignedGet]
    """A presigned GET of the original, for tools that read by URL and seek (ffmpeg)."""
    progress: Progress
    argv: tuple[str, ...] | None = None
    """The command line a `command` transform runs, from the job's spec."""
    scratch: dict[str, Any] = field(default_factory=dict)
    """What `check` learnt (a probe) for `apply` to use."""


class Transform(Protocol):
    name: str
    output_template: str
    """The default output key (see conveyor.naming for the fields)."""
    content_type: str

    def check(self, context: Context) -> None:
        """Refuse bad input (raise BadInput) before anything is written."""

    def apply(self, context: Context, sink: Sink) -> None:
        """Stream the result into `sink`."""
