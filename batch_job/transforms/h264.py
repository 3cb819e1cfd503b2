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
        self.output_template = "{dir}/{stem}." + name + ".mp4"

    def check(self, context: Context) -> None:
        get = context.signed_get()
        context.scratch["probe"] = ffmpeg.probe(get.url, get.headers)

    def apply(self, context: Context, sink: Sink) -> None:
        get = context.signed_get()

        def progress(line: str) -> bool:
            if not line.startswith(("out_time_us=", "out_time_ms=")):
                return "=" in line and " " not in line  # other -progress keys: consumed
            probe: ffmpeg.Probe | None = context.scratch.get("probe")  # set by check, in parallel
            duration = probe.duration if probe else None
            if duration:
                micros = line.split("=", 1)[1]
                if micros.isdigit():
                    context.progress.set_fraction(int(micros) / 1e6 / duration)
            return True

        finished = run_filter(
            ffmpeg.ffmpeg_args(self.profile, get.url, get.headers), sink, on_stderr=progress
        )
        if finished.returncode != 0:
            raise ffmpeg.classify(
                f"ffmpeg failed: {ffmpeg.last_line(finished.stderr_tail)}", finished.stderr_tail
            )
