"""How large a video the worker agrees to decode: checked against the probe, before any byte is
written, so a hostile or absurd input ends as bad input (exit 65) instead of exhausting the host's
memory or running until the job's timeout.
"""

from __future__ import annotations

from dataclasses import dataclass

from batch_job.errors import BadInput
from conveyor import settings

MAX_WIDTH = "CONVEYOR_MAX_WIDTH"
MAX_HEIGHT = "CONVEYOR_MAX_HEIGHT"
MAX_DURATION = "CONVEYOR_MAX_DURATION"
MAX_OUTPUT_BYTES = "CONVEYOR_MAX_OUTPUT_BYTES"

DEFAULT_WIDTH, DEFAULT_HEIGHT = 7680, 4320
"""8K UHD, the largest frame any camera or broadcast format delivers: larger frames are hostile or
specialist, and a decoder buffers several of them (a 16K frame is 400 MB of YUV)."""
DEFAULT_DURATION = float(settings.DEFAULT_JOB_TIMEOUT)
"""Seconds: the job's default timeout, which a longer input could not finish within anyway."""
DEFAULT_OUTPUT_BYTES = 5 * 10**12
"""5 TB: what the part plan (batch_job.parts) is sized for, about S3's largest object. It only
guards against a runaway output (a decompression bomb, a filter that never ends); operators who
know their outputs set a tighter cap."""


@dataclass(frozen=True)
class Limits:
    """The largest coded frame (as ffprobe reports it, before any rotation) and the longest
    declared duration a video may have."""

    max_width: int = DEFAULT_WIDTH
    max_height: int = DEFAULT_HEIGHT
    max_duration: float = DEFAULT_DURATION

    def check_video(self, width: int, height: int, seconds: float | None) -> None:
        """Refuse a video beyond a limit, naming the limit's setting so the reason says what to
        change. An unknown duration passes: the job's timeout and the output cap still bound it."""
        if width > self.max_width:
            raise BadInput(
                f"the video is {width} pixels wide, more than {MAX_WIDTH}={self.max_width}"
            )
        if height > self.max_height:
            raise BadInput(
                f"the video is {height} pixels high, more than {MAX_HEIGHT}={self.max_height}"
            )
        if seconds is not None and seconds > self.max_duration:
            raise BadInput(
                f"the video lasts {seconds:.0f} s, more than {MAX_DURATION}={self.max_duration:g}"
            )
