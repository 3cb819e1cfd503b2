"""The worker's limits, run as the container runs it: an input beyond a limit and an output beyond
the cap are bad input (exit 65), and leave no output, no open upload, the original in staging."""

from __future__ import annotations

import os

import pytest

from conveyor.jobs import EXIT_BAD_INPUT
from conveyor_local.media import make_video
from tests.conftest import Stack
from tests.integration.worker import (
    archive_versions,
    ledger,
    open_uploads,
    outputs,
    record_running,
    run_worker,
    staging_has,
    upload,
)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    folder = tmp_path_factory.mktemp("limits")
    return make_video(
        folder / "360p.mp4", width=640, height=360, seconds=1, faststart=True
    ).read_bytes()


def test_a_video_taller_than_the_limit_is_refused_naming_it(stack: Stack, clip: bytes) -> None:
    obj = upload(stack, "big/360p.mp4", clip)
    record_running(stack, obj, "job-tall")
    result = run_worker(
        stack, obj, "h264-720p", job_id="job-tall", env={"CONVEYOR_MAX_HEIGHT": "240"}
    )
    assert result.returncode == EXIT_BAD_INPUT, result.stderr
    assert "CONVEYOR_MAX_HEIGHT=240" in result.stderr
    [item] = ledger(stack).versions_of(stack.staging, obj.key)
    assert item["outcome"] == "bad input"
    assert item["error"] == "the video is 360 pixels high, more than CONVEYOR_MAX_HEIGHT=240"
    assert outputs(stack) == [] and open_uploads(stack) == []
    assert staging_has(stack, obj) and archive_versions(stack, obj.key) == []


def test_the_same_video_within_the_limits_is_transcoded(stack: Stack, clip: bytes) -> None:
    """Also: ffmpeg reads the local stack's plain http URL (http allowed for an http URL only)."""
    obj = upload(stack, "ok/360p.mp4", clip)
    result = run_worker(stack, obj, "h264-720p", env={"CONVEYOR_MAX_HEIGHT": "360"})
    assert result.returncode == 0, result.stderr
    assert [o["Key"] for o in outputs(stack)] == ["ok/360p.mp4.h264-720p.mp4"]


def test_an_output_beyond_the_cap_is_refused_and_its_upload_aborted(stack: Stack) -> None:
    # Random bytes do not compress: the gzip output is as large as the input, several parts.
    obj = upload(stack, "logs/noise.bin", os.urandom(6 * 1024 * 1024))
    record_running(stack, obj, "job-big")
    env = {"CONVEYOR_PART_SIZE": str(5 * 1024 * 1024), "CONVEYOR_MAX_OUTPUT_BYTES": "5500000"}
    result = run_worker(stack, obj, "gzip", job_id="job-big", env=env)
    assert result.returncode == EXIT_BAD_INPUT, result.stderr
    [item] = ledger(stack).versions_of(stack.staging, obj.key)
    assert item["error"] == "the output exceeds CONVEYOR_MAX_OUTPUT_BYTES=5500000 bytes"
    assert outputs(stack) == [] and open_uploads(stack) == []
    assert staging_has(stack, obj) and archive_versions(stack, obj.key) == []
