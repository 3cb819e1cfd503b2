"""`h264-720p` / `h264-1080p`: fragmented MP4 (H.264 + AAC) streamed straight to the output."""

from __future__ import annotations

from batch_job.transforms import ffmpeg
from batch_job.transforms.base import Context, Sink
from batch_job.transforms.process import run_filter


class H264:
    content_type = "video/mp4"

    def __init__(self, *, name: str, height: int) -> None:
        self.name = name
        self.profile = ffmpeg.Profile(height=height)
        self.output_template = "{key}." + name + ".mp4"

    def check(self, context: Context) -> None:
        get = context.signed_get()
        context.scratch["probe"] = ffmpeg.probe(get.url, get.headers)

    def apply(self, context: Context, sink: Sink) -> None:
        get = context.signed_get()
        report = ffmpeg.Report()

        def on_stderr(line: str) -> bool:
            consumed = report.read(line)
            probe: ffmpeg.Probe | None = context.scratch.get("probe")  # set by check, in parallel
            if consumed and probe and probe.duration:
                context.progress.set_fraction(report.out_seconds / probe.duration)
            return consumed

        finished = run_filter(
            ffmpeg.ffmpeg_args(self.profile, get.url, get.headers), sink, on_stderr=on_stderr
        )
        if finished.returncode != 0:
            raise ffmpeg.classify(
                f"ffmpeg failed: {ffmpeg.last_line(finished.stderr_tail)}", finished.stderr_tail
            )
        # Raising here, before the commit, aborts the output upload and keeps the original.
        problem = ffmpeg.incomplete(report, self._probe(context), finished.stderr_tail)
        if problem is not None:
            raise problem

    def _probe(self, context: Context) -> ffmpeg.Probe:
        """`check`'s probe; it is there once ffmpeg wrote a byte (the sink waits for `check`),
        else (no output at all) probe again rather than wait on a thread that may not exist."""
        probe: ffmpeg.Probe | None = context.scratch.get("probe")
        if probe is None:
            get = context.signed_get()
            probe = ffmpeg.probe(get.url, get.headers)
        return probe
