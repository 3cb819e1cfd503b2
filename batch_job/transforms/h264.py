"""`h264-720p` / `h264-1080p`: fragmented MP4 (H.264 + AAC) streamed straight to the output."""

from __future__ import annotations

from concurrent.futures import Future

from batch_job.transforms import ffmpeg
from batch_job.transforms.base import Context, Sink
from batch_job.transforms.process import run_filter


class H264:
    content_type = "video/mp4"

    def __init__(self, *, name: str, height: int) -> None:
        self.name = name
        self.profile = ffmpeg.Profile(height=height)
        self.output_template = "{key}." + name + ".mp4"

    def check(self, context: Context) -> ffmpeg.Probe:
        """ffprobe accepts the input (an allowed container with a video stream, and its length),
        and it is within the worker's limits (frame size, duration)."""
        get = context.signed_get()
        return ffmpeg.check_limits(ffmpeg.probe(get.url, get.headers), context.limits)

    def apply(self, context: Context, sink: Sink, checked: Future[ffmpeg.Probe]) -> None:
        get = context.signed_get()
        report = ffmpeg.Report()

        def on_stderr(line: str) -> bool:
            consumed = report.read(line)
            probe = _known(checked)  # ffprobe runs beside ffmpeg's start
            declared = probe.declared() if probe else None  # what the truncation check expects
            if consumed and declared:
                context.progress.set_fraction(report.out_seconds / declared)
            return consumed

        finished = run_filter(
            ffmpeg.ffmpeg_args(self.profile, get.url, get.headers), sink, on_stderr=on_stderr
        )
        if finished.returncode != 0:
            raise ffmpeg.failed(finished.returncode, finished.stderr_tail)
        # Raising here, before the commit, aborts the output upload and keeps the original. The
        # probe is there once ffmpeg wrote a byte (the sink waits for the check); else this waits
        # for it, and a refusal raises the probe's reason.
        problem = ffmpeg.incomplete(report, checked.result(), finished.stderr_tail)
        if problem is not None:
            raise problem


def _known(checked: Future[ffmpeg.Probe]) -> ffmpeg.Probe | None:
    """The probe if ffprobe has accepted the input by now, else None (never waits)."""
    if checked.done() and checked.exception() is None:
        return checked.result()
    return None
