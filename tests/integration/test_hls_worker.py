"""`hls` through the worker on generated media: the ladder, valid playlists, every referenced
object present, the master last, the probe and every output in the ledger."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conveyor.jobs import EXIT_BAD_INPUT
from conveyor_local.media import make_video, probe
from tests.conftest import Stack
from tests.integration.hls_checks import check_tree, listing, read
from tests.integration.worker import ledger, record_running, run_worker, staging_has, upload


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hls-videos")
    return {
        "audio": make_video(folder / "a.mp4", width=1280, height=720, seconds=13, faststart=True),
        "silent": make_video(
            folder / "s.mov", width=1280, height=720, seconds=8, faststart=False, audio=False
        ),
    }


def test_hls_ladder_from_a_720p_source(
    stack: Stack, videos: dict[str, Path], tmp_path: Path
) -> None:
    obj = upload(stack, "clips/talk ü.mp4", videos["audio"].read_bytes())
    record_running(stack, obj, "job-hls")
    result = run_worker(stack, obj, "hls", job_id="job-hls", timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    master_key = "clips/talk ü.mp4.hls/master.m3u8"
    tree = check_tree(stack, master_key)
    assert sorted(tree.media) == [360, 480, 720]  # never upscaled: no 1080
    resolutions = [p.stream_info.resolution for p in tree.master.playlists]
    assert resolutions == [(1280, 720), (854, 480), (640, 360)]  # highest bandwidth first
    for playlist in tree.master.playlists:
        assert playlist.stream_info.codecs.startswith("avc1.64")  # high profile
        assert playlist.stream_info.codecs.endswith(",mp4a.40.2")
        assert playlist.stream_info.average_bandwidth <= playlist.stream_info.bandwidth
        assert playlist.stream_info.frame_rate == 25
    assert tree.head["Metadata"]["conveyor-source-key"] == "clips/talk%20%C3%BC.mp4"
    assert tree.head["ContentType"] == "application/vnd.apple.mpegurl"
    # A rendition decodes: its init and segments, concatenated, are one fragmented MP4.
    folder = master_key.rpartition("/")[0] + "/"
    base = f"{folder}{tree.run}/360p/"
    media = tree.media[360]
    local = tmp_path / "360p.mp4"
    local.write_bytes(
        read(stack, base + media.segment_map[0].uri)
        + b"".join(read(stack, base + s.uri) for s in media.segments)
    )
    decoded = probe(local)
    video = next(s for s in decoded["streams"] if s["codec_type"] == "video")
    assert (video["width"], video["height"]) == (640, 360)
    assert float(decoded["format"]["duration"]) == pytest.approx(13, abs=0.3)
    subprocess.run(["ffmpeg", "-v", "error", "-i", local, "-f", "null", "-"], check=True)
    # The ledger: the probe and every output (segments counted, not listed).
    [item] = ledger(stack).versions_of(stack.staging, obj.key)
    assert item["probe"]["width"] == 1280 and item["probe"]["audio_codec"] == "aac"
    roles = [o["role"] for o in item["outputs"]]
    assert roles.count("master") == 1 and roles.count("playlist") == 3
    assert {"poster", "sprite", "thumbnails"} <= set(roles)
    for output in item["outputs"]:
        assert output["key"] in tree.keys and tree.keys[output["key"]]["Size"] == output["bytes"]
    playlists = {o["height"]: o for o in item["outputs"] if o["role"] == "playlist"}
    assert playlists[720]["segments"] == 3
    assert playlists[720]["segment_bytes"] == sum(
        tree.keys[f"{folder}{tree.run}/720p/{s.uri}"]["Size"] for s in tree.media[720].segments
    )
    assert item["output"]["key"] == master_key
    assert not staging_has(stack, obj)


def test_hls_without_audio_and_a_ladder_from_the_job(stack: Stack, videos: dict[str, Path]) -> None:
    obj = upload(stack, "silent.mov", videos["silent"].read_bytes())
    result = run_worker(stack, obj, "hls", argv=["1080", "480:900k", "240"], timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    tree = check_tree(stack, "silent.mov.hls/master.m3u8")
    assert sorted(tree.media) == [240, 480]
    for playlist in tree.master.playlists:
        assert "mp4a" not in playlist.stream_info.codecs
    assert len(tree.media[480].segments) == 2  # 6 s + 2 s
    assert listing(stack, "silent.mov.hls/")


def test_a_cut_video_fails_with_its_probe_recorded_and_nothing_left(
    stack: Stack, videos: dict[str, Path]
) -> None:
    data = videos["audio"].read_bytes()
    obj = upload(stack, "cut.mp4", data[: len(data) * 6 // 10])
    record_running(stack, obj, "job-cut")
    result = run_worker(stack, obj, "hls", job_id="job-cut", timeout=300)
    assert result.returncode == EXIT_BAD_INPUT, result.stderr[-3000:]
    [item] = ledger(stack).versions_of(stack.staging, obj.key)
    assert item["outcome"] == "bad input" and "truncated" in item["error"]
    assert item["probe"]["duration"] == pytest.approx(13, abs=0.2)  # recorded before it failed
    assert "outputs" not in item
    assert listing(stack, "cut.mp4.hls/") == {}  # the uncommitted run's objects are gone
    assert staging_has(stack, obj)


def test_a_single_file_transform_lists_its_one_output(stack: Stack) -> None:
    obj = upload(stack, "notes.txt", b"x" * 1000)
    record_running(stack, obj, "job-copy")
    assert run_worker(stack, obj, "gzip", job_id="job-copy").returncode == 0
    [item] = ledger(stack).versions_of(stack.staging, obj.key)
    [output] = item["outputs"]
    bucket = stack.settings["CONVEYOR_OUTPUT_BUCKET"]
    head = stack.s3.head_object(Bucket=bucket, Key=output["key"])
    assert output == {
        "bucket": bucket,
        "key": "notes.txt.gz",
        "role": "file",
        "bytes": head["ContentLength"],
    }
    assert "probe" not in item  # not a video


def test_a_rotated_phone_clip_gets_portrait_renditions(stack: Stack, tmp_path: Path) -> None:
    """Coded 640x360, shown turned 90 degrees: the ladder is chosen on the 360x640 a player shows,
    and ffmpeg's autorotation makes the renditions portrait."""
    coded = make_video(tmp_path / "c.mp4", width=640, height=360, seconds=4, faststart=True)
    turned = tmp_path / "turned.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            coded,
            "-c",
            "copy",
            "-metadata:s:v:0",
            "rotate=90",
            turned,
        ],
        check=True,
    )
    obj = upload(stack, "phone.mp4", turned.read_bytes())
    result = run_worker(stack, obj, "hls", timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    tree = check_tree(stack, "phone.mp4.hls/master.m3u8")
    assert [p.stream_info.resolution for p in tree.master.playlists] == [(270, 480), (202, 360)]
    base = f"phone.mp4.hls/{tree.run}/360p/"
    media = tree.media[360]
    local = tmp_path / "360p.mp4"
    local.write_bytes(
        read(stack, base + media.segment_map[0].uri)
        + b"".join(read(stack, base + s.uri) for s in media.segments)
    )
    video = next(s for s in probe(local)["streams"] if s["codec_type"] == "video")
    assert (video["width"], video["height"]) == (202, 360)
