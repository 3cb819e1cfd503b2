"""The WebVTT index of the sprite sheets: one cue per thumbnail, pointing at its tile, for a
player's scrub preview."""

from __future__ import annotations

import math

from batch_job.transforms.hls.command import SPRITE, Sprites


def sheet_name(index: int) -> str:
    """The sheet's file name, as ffmpeg numbers them (from 1)."""
    return SPRITE % (index + 1)


TAIL_SECONDS = 0.1
"""A last interval shorter than this gets no thumbnail: ffmpeg's end time runs a few tens of ms
past the last frame, where the fps filter may make none."""


def thumbnail_count(duration: float, sprites: Sprites, sheets: int) -> int:
    """Thumbnails ffmpeg made: one per interval begun (fps filter), at most what the sheets hold."""
    if duration <= 0:
        return 0
    made = max(1, math.ceil((duration - TAIL_SECONDS) / sprites.interval))
    return min(made, sheets * sprites.per_sheet)


def webvtt(duration: float, sprites: Sprites, sheets: int) -> str:
    """Cue i covers [i*interval, min((i+1)*interval, duration)) and shows tile i of its sheet;
    `sheets` is how many sheets exist, so no cue points at a missing one."""
    lines = ["WEBVTT", ""]
    for i in range(thumbnail_count(duration, sprites, sheets)):
        start = i * sprites.interval
        end = min((i + 1) * sprites.interval, duration)
        if end <= start:
            break
        sheet, tile = divmod(i, sprites.per_sheet)
        row, column = divmod(tile, sprites.columns)
        x, y = column * sprites.width, row * sprites.height
        lines += [
            f"{_clock(start)} --> {_clock(end)}",
            f"{sheet_name(sheet)}#xywh={x},{y},{sprites.width},{sprites.height}",
            "",
        ]
    return "\n".join(lines)


def _clock(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"
