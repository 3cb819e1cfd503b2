"""How a video's probe and a job's outputs read in `conveyor show`.

Both come from the ledger (written by the worker), so every value is shown through `literal`
and any piece that is missing or not the type expected is left out or shown as it is, never
trusted to format.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import RenderableType
from rich.filesize import decimal
from rich.table import Table
from rich.text import Text

from conveyor_cli.text import literal

SEPARATOR = " · "


def probe_line(probe: Mapping[str, Any]) -> Text:
    """`mov,mp4 · 20.0 s · h264 yuv420p 1920x1080 (rotated 90°) · 25 fps · 4.4 Mb/s · aac 2 ch`"""
    video = " ".join(
        part
        for part in (
            _text(probe.get("video_codec")),
            _text(probe.get("pixel_format")),
            _size(probe.get("width"), probe.get("height")),
            _rotated(probe.get("rotation")),
        )
        if part
    )
    pieces = (
        _container(probe.get("container")),
        _duration(probe.get("duration")),
        video,
        _fps(probe.get("fps")),
        _rate(probe.get("bit_rate")),
        _audio(probe.get("audio_codec"), probe.get("audio_channels")),
    )
    return literal(SEPARATOR.join(piece for piece in pieces if piece))


def outputs_table(outputs: Sequence[Any]) -> RenderableType:
    """One output a line: role, where it is, its size; a playlist adds its rendition."""
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold", ratio=2)  # the key gets the room, the details wrap
    table.add_column(ratio=1)
    for output in outputs:
        if not isinstance(output, Mapping):
            table.add_row(Text(""), literal(output), Text(""))
            continue
        where = f"s3://{output.get('bucket')}/{output.get('key')}"
        about = _bytes(output.get("bytes"))
        rendition = _rendition(output)
        if rendition:
            about = f"{about} ({rendition})" if about else rendition
        table.add_row(literal(output.get("role") or ""), literal(where), literal(about))
    return table


def _rendition(output: Mapping[str, Any]) -> str:
    height = output.get("height")
    segments = output.get("segments")
    pieces = (
        f"{height}p" if _is_number(height) else "",
        _rate(output.get("bandwidth")),
        f"{segments} segments" if _is_number(segments) else "",
    )
    return SEPARATOR.join(piece for piece in pieces if piece)


def _container(value: Any) -> str:
    """ffprobe names a demuxer by all it reads ("mov,mp4,m4a,3gp,3g2,mj2"): the first two say it."""
    return ",".join(value.split(",")[:2]) if isinstance(value, str) else _text(value)


def _duration(value: Any) -> str:
    if not _is_number(value):
        return _text(value)
    if value < 60:
        return f"{value:.1f} s"
    minutes, seconds = divmod(round(value), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{seconds:02}" if hours else f"{minutes}:{seconds:02}"


def _size(width: Any, height: Any) -> str:
    return f"{width}x{height}" if width is not None and height is not None else ""


def _rotated(value: Any) -> str:
    return f"(rotated {value}°)" if value not in (None, 0, "0") else ""


def _fps(value: Any) -> str:
    return f"{value:g} fps" if _is_number(value) else _text(value)


def _rate(value: Any) -> str:
    """Bits per second as a person reads them: 4.4 Mb/s, 800 kb/s."""
    if not _is_number(value):
        return _text(value)
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f} Mb/s"
    return f"{value / 1000:.0f} kb/s"


def _audio(codec: Any, channels: Any) -> str:
    if not codec:
        return "no audio"
    return f"{codec} {channels} ch" if channels is not None else str(codec)


def _bytes(value: Any) -> str:
    return decimal(int(value)) if _is_number(value) else _text(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _text(value: Any) -> str:
    return "" if value is None else str(value)
