"""The ffmpeg command line is built by a pure function: check what it allows and forbids."""

from __future__ import annotations

import pytest

from batch_job.errors import BadInput, Transient
from batch_job.transforms.ffmpeg import (
    Profile,
    classify,
    failed,
    ffmpeg_args,
    last_line,
    parse_probe,
    probe_args,
)


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_ffmpeg_is_locked_down() -> None:
    argv = ffmpeg_args(Profile(height=720), "https://bucket.s3/x?sig")
    assert argv[0] == "ffmpeg" and "-nostdin" in argv
    assert option(argv, "-protocol_whitelist") == "https,tcp,tls"  # http only for an http URL
    demuxers = option(argv, "-format_whitelist").split(",")
    assert "hls" not in demuxers and "concat" not in demuxers and "image2" not in demuxers
    assert argv.index("-format_whitelist") < argv.index("-i")  # applies to the input
    assert option(argv, "-i") == "https://bucket.s3/x?sig"
    maps = [argv[i + 1] for i, a in enumerate(argv) if a == "-map"]
    assert maps == ["0:v:0", "0:a:0?"]
    assert {"-sn", "-dn"} <= set(argv)
    assert "frag_keyframe" in option(argv, "-movflags") and argv[-1] == "pipe:1"
    assert "min(720,ih)" in option(argv, "-vf")


def test_probe_uses_the_same_allow_lists() -> None:
    argv = probe_args("http://x")
    assert option(argv, "-format_whitelist") == option(
        ffmpeg_args(Profile(720), "http://x"), "-format_whitelist"
    )


def test_parse_probe() -> None:
    report = {
        "streams": [
            {"codec_type": "video", "width": 1920, "height": 1080},
            {"codec_type": "audio"},
        ],
        "format": {"format_name": "mov,mp4,m4a,3gp,3g2,mj2", "duration": "20.0"},
    }
    probe = parse_probe(report)
    assert (probe.height, probe.duration, probe.has_audio) == (1080, 20.0, True)
    with pytest.raises(BadInput, match="no video"):
        parse_probe({"streams": [{"codec_type": "audio"}], "format": {}})


def test_network_trouble_is_transient() -> None:
    assert isinstance(classify("m", "Server returned 503 Service Unavailable"), Transient)
    assert isinstance(classify("m", "Server returned 403 Forbidden (access denied)"), Transient)
    assert isinstance(classify("m", "Invalid data found when processing input"), BadInput)


def test_the_host_failing_is_transient_not_bad_input() -> None:
    """A full scratch disk or a kill (the OOM killer) says nothing about the media: a retry,
    never a file marked bad for good."""
    full = "[hls @ 0x1] 720p/seg_00004.m4s.tmp: No space left on device"
    assert isinstance(classify("m", full), Transient)
    assert isinstance(failed(-9, ""), Transient)
    assert isinstance(failed(1, "Invalid data found when processing input"), BadInput)


def test_error_lines_drop_presigned_queries() -> None:
    stderr = (
        "[mov @ 0x1] Format concat not on whitelist 'mov,matroska'\n"
        "http://127.0.0.1:5000/b/k%20%C3%BC.mov?versionId=v&X-Amz-Signature=abc: Invalid argument"
    )
    line = last_line(stderr)
    assert "Signature" not in line and "versionId" not in line
    assert line.endswith("http://127.0.0.1:5000/b/k%20%C3%BC.mov: Invalid argument")
    assert "not on whitelist" in line
