"""ffmpeg for real on generated video, and hostile inputs that must never reach the output."""

from __future__ import annotations

import dataclasses
import os
import random
import re
import subprocess
from pathlib import Path

import pytest

from batch_job.errors import Transient
from batch_job.source import Source, presigned_get
from batch_job.transforms import ffmpeg
from conveyor.jobs import EXIT_BAD_INPUT
from conveyor_local.media import make_video, moov_at_end, probe
from tests.conftest import Stack
from tests.integration.worker import (
    Uploaded,
    archive_versions,
    ledger,
    open_uploads,
    outputs,
    record_running,
    run_worker,
    staging_has,
    upload,
)

OUTPUT = "CONVEYOR_OUTPUT_BUCKET"


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("videos")
    made = {
        "start": make_video(
            folder / "start.mp4", width=1280, height=720, seconds=2, faststart=True
        ),
        "end": make_video(folder / "end.mov", width=1280, height=720, seconds=2, faststart=False),
        "full-hd": make_video(
            folder / "fullhd.mp4", width=1920, height=1080, seconds=1, faststart=False
        ),
    }
    assert moov_at_end(made["end"]) and not moov_at_end(made["start"])
    return made


def output_probe(stack: Stack, key: str, tmp_path: Path) -> tuple[dict, bytes]:
    data = stack.s3.get_object(Bucket=stack.settings[OUTPUT], Key=key)["Body"].read()
    local = tmp_path / "out.mp4"
    local.write_bytes(data)
    return probe(local), data


@pytest.mark.parametrize("which", ["start", "end"])
def test_h264_720p_with_moov_at_start_and_end(
    stack: Stack, videos: dict[str, Path], which: str, tmp_path: Path
) -> None:
    key = f"videos/{which} clip ü.mov"
    obj = upload(stack, key, videos[which].read_bytes())
    result = run_worker(stack, obj, "h264-720p")
    assert result.returncode == 0, result.stderr
    report, data = output_probe(stack, f"videos/{which} clip ü.mov.h264-720p.mp4", tmp_path)
    streams = {s["codec_type"]: s for s in report["streams"]}
    assert streams["video"]["codec_name"] == "h264" and streams["video"]["height"] == 720
    assert streams["audio"]["codec_name"] == "aac"
    assert b"moof" in data  # fragmented MP4, written as a stream
    assert float(report["format"]["duration"]) == pytest.approx(2, abs=0.2)
    assert not staging_has(stack, obj) and open_uploads(stack) == []


def test_h264_1080p_and_no_upscaling(stack: Stack, videos: dict[str, Path], tmp_path: Path) -> None:
    big = upload(stack, "hd.mp4", videos["full-hd"].read_bytes())
    assert run_worker(stack, big, "h264-1080p").returncode == 0
    report, _ = output_probe(stack, "hd.mp4.h264-1080p.mp4", tmp_path)
    assert report["streams"][0]["height"] == 1080
    small = upload(stack, "small.mp4", videos["start"].read_bytes())
    assert run_worker(stack, small, "h264-1080p").returncode == 0
    report, _ = output_probe(stack, "small.mp4.h264-1080p.mp4", tmp_path)
    assert report["streams"][0]["height"] == 720  # never taller than the source


HOSTILE = {  # name -> (content, what ffmpeg must say)
    "hls.mov": (
        b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/passwd\n"
        b"#EXTINF:10,\nhttp://169.254.169.254/latest/meta-data/\n#EXT-X-ENDLIST\n",
        "Format not on whitelist",
    ),
    "playlist.m3u8": (
        b"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n"
        b"http://169.254.169.254/latest/meta-data/seg.ts\n#EXT-X-ENDLIST\n",
        "Format not on whitelist",
    ),
    "concat.mov": (
        b"ffconcat version 1.0\nfile 'file:///etc/passwd'\nfile 'http://169.254.169.254/'\n",
        "Format not on whitelist",
    ),
    "corrupt.mov": (os.urandom(64 * 1024), "Invalid data"),
}


def test_h264_from_an_unversioned_bucket_reads_by_signed_if_match(
    stack: Stack, videos: dict[str, Path], tmp_path: Path
) -> None:
    bucket = stack.staging.replace("-staging", "-plain")
    stack.s3.create_bucket(Bucket=bucket)
    body = videos["end"].read_bytes()
    etag = stack.s3.put_object(Bucket=bucket, Key="v/plain.mov", Body=body)["ETag"].strip('"')
    plain = dataclasses.replace(
        stack, settings={**stack.settings, "CONVEYOR_STAGING_BUCKET": bucket}
    )
    result = run_worker(plain, Uploaded("v/plain.mov", "", etag, body), "h264-720p")
    assert result.returncode == 0, result.stderr
    report, _ = output_probe(stack, "v/plain.mov.h264-720p.mp4", tmp_path)
    [video] = [s for s in report["streams"] if s["codec_type"] == "video"]
    assert video["height"] == 720

    # The URL ffmpeg reads is pinned too: once the key holds other bytes (a 1080p clip now),
    # the read is refused, where an unpinned read would get the newer clip.
    stack.s3.put_object(Bucket=bucket, Key="v/plain.mov", Body=videos["full-hd"].read_bytes())
    source = Source(bucket, "v/plain.mov", None, etag, len(body), None, {}, None)  # type: ignore[arg-type]
    get = presigned_get(stack.s3, source, 600)
    with pytest.raises(Transient, match="changed while it was read"):
        ffmpeg.probe(get.url, get.headers)
    assert ffmpeg.probe(get.url, {}).height == 1080


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_and_corrupt_inputs_are_refused(stack: Stack, name: str) -> None:
    content, refusal = HOSTILE[name]
    obj = upload(stack, f"evil/{name}", content)
    record_running(stack, obj, "job-evil")  # so the refusal's reason is recorded

    result = run_worker(stack, obj, "h264-720p", job_id="job-evil")
    assert result.returncode == EXIT_BAD_INPUT, result.stderr
    assert "passwd" not in result.stdout
    assert outputs(stack) == []
    assert staging_has(stack, obj)
    assert open_uploads(stack) == []
    [item] = ledger(stack).versions_of(stack.staging, obj.key)
    assert item["outcome"] == "bad input"
    assert item["error"].startswith("not a video ffmpeg accepts")
    assert refusal in item["error"]
    # The presigned input URL is a key to the original: it must not leak into logs or the ledger.
    assert "Signature" not in item["error"] and "Signature" not in result.stderr


@pytest.fixture(scope="module")
def six_seconds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("six")
    return {
        faststart: make_video(
            folder / f"six-{faststart}.mp4", width=320, height=240, seconds=6, faststart=faststart
        ).read_bytes()
        for faststart in (True, False)
    }


@pytest.mark.parametrize(
    ("faststart", "kept", "reason"),
    [
        # ffmpeg plays the first half and exits 0; the declared duration tells.
        (True, 0.5, r"decoded [23]\.\d s of the 6\.0 s the file declares: the file is truncated"),
        # Too little missing for the duration to tell; ffmpeg's "partial file" does.
        (True, 0.97, r"the file is truncated or damaged \(ffmpeg: .+\)"),
        # The index (moov) was in the lost half: the probe refuses the file.
        (False, 0.5, r"not a video ffmpeg accepts: .*moov atom not found"),
    ],
    ids=["moov-at-start", "tail-missing", "moov-at-end"],
)
def test_a_cut_video_is_bad_input_and_stays_in_staging(
    stack: Stack, six_seconds: dict[str, bytes], faststart: bool, kept: float, reason: str
) -> None:
    whole = six_seconds[faststart]
    assert (whole.find(b"moov") > whole.find(b"mdat")) is not faststart
    key = f"cut/{kept}-{'start' if faststart else 'end'}.mp4"
    obj = upload(stack, key, whole[: int(len(whole) * kept)])
    record_running(stack, obj, "job-cut")

    result = run_worker(stack, obj, "h264-720p", job_id="job-cut")
    assert result.returncode == EXIT_BAD_INPUT, result.stderr
    assert re.search(reason, result.stderr), result.stderr
    [item] = ledger(stack).versions_of(stack.staging, obj.key)
    assert item["outcome"] == "bad input" and re.match(reason, item["error"]), item["error"]
    assert "Signature" not in item["error"] and "Signature" not in result.stderr
    assert outputs(stack, key) == []  # no short output reported as success
    assert staging_has(stack, obj) and open_uploads(stack) == []
    # The copy archived while ffmpeg ran is withdrawn: an archived original reads as done.
    assert archive_versions(stack, key) == []


@pytest.fixture(scope="module")
def glitched_ts(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A complete 6 s MPEG-TS with a few packets' payload garbled, as broadcast recordings have:
    the TS headers stay, so the demuxer reads on to the end and only the decoders complain."""
    path = make_video(
        tmp_path_factory.mktemp("ts") / "six.ts", width=320, height=240, seconds=6, faststart=False
    )
    data = bytearray(path.read_bytes())
    garble = random.Random(7)
    for start in (len(data) * 3 // 10 // 188 * 188, len(data) * 6 // 10 // 188 * 188):
        for packet in range(start, start + 12 * 188, 188):
            data[packet + 4 : packet + 188] = garble.randbytes(184)
    path.write_bytes(data)
    decoded = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "error while decoding" in decoded.stderr.lower()  # what used to fail the job
    return bytes(data)


def test_a_complete_ts_with_glitched_frames_is_transcoded(
    stack: Stack, glitched_ts: bytes, tmp_path: Path
) -> None:
    obj = upload(stack, "broadcast/glitched.ts", glitched_ts)
    result = run_worker(stack, obj, "h264-720p")
    assert result.returncode == 0, result.stderr
    report, _ = output_probe(stack, "broadcast/glitched.ts.h264-720p.mp4", tmp_path)
    assert float(report["format"]["duration"]) == pytest.approx(6, abs=0.3)
    assert not staging_has(stack, obj) and len(archive_versions(stack, obj.key)) == 1
