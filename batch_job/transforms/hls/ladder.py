"""Which renditions an `hls` job makes: the ladder's rungs (the default, or the job's argv),
kept to those the source can fill (never upscaled), each with its size and rate control."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from batch_job.errors import BadInput
from conveyor.routing import parse_rung


@dataclass(frozen=True)
class Rung:
    height: int
    video_kbps: int


DEFAULT_LADDER = (Rung(1080, 5000), Rung(720, 2800), Rung(480, 1400), Rung(360, 800))
"""Heights and video bitrates (kbit/s) a route's `ladder` replaces; audio is AAC 128k stereo."""
MAXRATE = 1.07
BUFSIZE = 1.5
"""The VBV: peaks at most 7 % above the target over 1.5 s of buffer, so a segment's rate (what
the master's BANDWIDTH promises a player) stays near the rung's."""


@dataclass(frozen=True)
class Rendition:
    width: int
    height: int
    video_kbps: int

    @property
    def name(self) -> str:
        """Its folder in the run directory, e.g. `720p`."""
        return f"{self.height}p"

    @property
    def maxrate_kbps(self) -> int:
        return round(self.video_kbps * MAXRATE)

    @property
    def bufsize_kbps(self) -> int:
        return round(self.video_kbps * BUFSIZE)


def parse_ladder(argv: Sequence[str] | None) -> tuple[Rung, ...]:
    """The job's rungs (`["1080", "720:3000k"]`), tallest first; none given: DEFAULT_LADDER.
    A rung without a bitrate gets the default's for its height (scaled by pixels if none)."""
    if not argv:
        return DEFAULT_LADDER
    rungs: dict[int, Rung] = {}
    for text in argv:
        try:
            height, kbps = parse_rung(text)
        except ValueError as err:
            raise BadInput(f"hls: {err}") from err
        if height in rungs:
            raise BadInput(f"hls: the ladder names height {height} twice")
        rungs[height] = Rung(height, kbps or default_kbps(height))
    return tuple(sorted(rungs.values(), key=lambda r: -r.height))


def default_kbps(height: int) -> int:
    """The default ladder's rate for `height`, else the nearest rung's scaled by pixel count."""
    nearest = min(DEFAULT_LADDER, key=lambda r: abs(r.height - height))
    return max(100, round(nearest.video_kbps * (height / nearest.height) ** 2 / 10) * 10)


def choose(rungs: Sequence[Rung], display_width: int, display_height: int) -> list[Rendition]:
    """The renditions for a source shown at display_width x display_height, tallest first: the
    rungs no taller than the source; a source below every rung gets one rendition at its own
    height (rounded down to even) with the lowest rung's bitrate."""
    if display_width <= 0 or display_height <= 0:
        raise BadInput(f"hls: the video has no size ({display_width}x{display_height})")
    kept = [r for r in rungs if r.height <= display_height]
    if not kept:
        lowest = min(rungs, key=lambda r: r.height)
        kept = [Rung(max(2, display_height - display_height % 2), lowest.video_kbps)]
    return [
        Rendition(even_width(r.height, display_width, display_height), r.height, r.video_kbps)
        for r in sorted(kept, key=lambda r: -r.height)
    ]


def even_width(height: int, display_width: int, display_height: int) -> int:
    """The width that keeps the display aspect at `height`, even (H.264 4:2:0 needs it)."""
    return max(2, round(height * display_width / display_height / 2) * 2)
