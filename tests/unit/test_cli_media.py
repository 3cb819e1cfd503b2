"""`conveyor show` for a video: the probe on one line, every output on its own, keys literal."""

from __future__ import annotations

import io
import json
from typing import Any

from rich.console import Console

from conveyor.ledger.views import PUBLIC_FIELDS, public
from conveyor_cli import render
from conveyor_cli.text import to_json, visible

HOSTILE = "odd/[bold]x[/] \x1b[2J new\nline \u202egnp.m3u8"
PROBE = {
    "container": "mov,mp4,m4a,3gp,3g2,mj2",
    "duration": 20.02,
    "video_codec": "h264",
    "pixel_format": "yuv420p",
    "width": 1920,
    "height": 1080,
    "rotation": 90,
    "fps": 25,  # DynamoDB gives 25.0 back as 25
    "bit_rate": 4400000,
    "audio_codec": "aac",
    "audio_channels": 2,
}
OUTPUTS = [
    {"bucket": "out", "key": "v/a.mov.hls/master.m3u8", "role": "master", "bytes": 612},
    {
        "bucket": "out",
        "key": "v/a.mov.hls/r-1/720p.m3u8",
        "role": "playlist",
        "bytes": 1830,
        "height": 720,
        "width": 1280,
        "bandwidth": 3_100_000,
        "segments": 4,
        "segment_bytes": 7_340_000,
    },
    {"bucket": "out", "key": HOSTILE, "role": "poster", "bytes": 48_213},
]


def item(**fields: Any) -> dict[str, Any]:
    """A ledger item as the worker leaves it."""
    return {
        "bucket": "staging",
        "object_key": "v/a.mov",
        "version_id": "v1",
        "status": "SUCCEEDED",
        "transform": "hls",
        **fields,
    }


def shown(row: dict[str, Any], width: int = 200) -> str:
    out = io.StringIO()
    render.versions([row], Console(file=out, width=width, color_system=None))
    return out.getvalue()


def test_probe_and_outputs_are_public_fields() -> None:
    assert {"probe", "outputs"} <= set(PUBLIC_FIELDS)
    row = public(item(probe=PROBE, outputs=OUTPUTS))
    assert row["probe"] == PROBE and row["outputs"] == OUTPUTS
    assert json.loads(to_json([row]))[0]["outputs"][2]["key"] == HOSTILE  # exactly as stored
    assert public(item())["probe"] is None and public(item())["outputs"] is None


def test_the_probe_is_one_readable_line() -> None:
    text = shown(public(item(probe=PROBE)))
    [line] = [line for line in text.splitlines() if line.startswith("probe")]
    assert line.split(None, 1)[1] == (
        "mov,mp4 · 20.0 s · h264 yuv420p 1920x1080 (rotated 90°) · 25 fps · 4.4 Mb/s · aac 2 ch"
    )


def test_a_long_silent_unrotated_probe() -> None:
    silent = {
        **PROBE,
        "container": "matroska,webm",
        "duration": 3725.4,
        "rotation": 0,
        "fps": 23.976,
        "bit_rate": 800_000,
        "audio_codec": None,
        "audio_channels": None,
    }
    text = shown(public(item(probe=silent)))
    assert "matroska,webm · 1:02:05 · h264 yuv420p 1920x1080 · 23.976 fps · 800 kb/s" in text
    assert "no audio" in text and "rotated" not in text


def test_outputs_one_a_line_with_playlist_details_and_keys_literal() -> None:
    text = shown(public(item(outputs=OUTPUTS)))
    lines = text.splitlines()
    [master] = [line for line in lines if "master.m3u8" in line]
    assert "master" in master and "s3://out/v/a.mov.hls/master.m3u8" in master
    assert "612 bytes" in master
    [playlist] = [line for line in lines if "720p.m3u8" in line]
    assert "playlist" in playlist and "1.8 kB (720p · 3.1 Mb/s · 4 segments)" in playlist
    [poster] = [line for line in lines if "poster" in line]
    assert f"s3://out/{visible(HOSTILE)}" in poster and "48.2 kB" in poster
    assert "\x1b" not in text and "\u202e" not in text  # escaped, not interpreted


def test_odd_values_in_the_ledger_are_shown_not_trusted() -> None:
    row = public(item(probe={"duration": "N/A", "width": 10}, outputs=["not a dict", {}]))
    text = shown(row)
    assert "N/A" in text and "not a dict" in text and "no audio" in text


def test_nothing_shown_when_there_is_nothing() -> None:
    text = shown(public(item(outputs=[])))
    assert not any(line.startswith(("probe", "outputs")) for line in text.splitlines())
