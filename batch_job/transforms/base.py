"""What a transform is given and must do."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from batch_job.limits import Limits
from batch_job.progress import Progress
from batch_job.source import SignedGet, Source


class Sink(Protocol):
    def write(self, data: bytes) -> None: ...


@dataclass(frozen=True)
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
    limits: Limits = field(default_factory=Limits)
    """How large an input a transform that probes (video) accepts."""


Checked = TypeVar("Checked")
"""What a transform's `check` learns about the input (its probe; None when there is nothing)."""


class Transform(Protocol[Checked]):
    name: str
    output_template: str
    """The default output key (see conveyor.naming for the fields)."""
    content_type: str

    def check(self, context: Context) -> Checked:
        """Refuse bad input (raise BadInput) before anything is written; return what was learnt
        (a probe), which `apply` receives."""

    def apply(self, context: Context, sink: Sink, checked: Future[Checked]) -> None:
        """Stream the result into `sink`. `apply` starts while `check` may still run: `checked`
        holds its result once it is done (the sink holds the first byte until then)."""
