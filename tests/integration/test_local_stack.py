"""`conveyor demo` and `conveyor local up`, as a newcomer runs them: real processes, real ffmpeg."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from conveyor.local.media import make_video
from tests.conftest import free_port


def conveyor_env(home: Path) -> dict[str, str]:
    """A shell with no CONVEYOR_* settings nor endpoint; only where the local stack keeps state."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONVEYOR_", "AWS_"))}
    return {**env, "CONVEYOR_HOME": str(home), "COLUMNS": "200"}


def test_demo_end_to_end(tmp_path: Path) -> None:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "conveyor.cli", "demo"],
        capture_output=True,
        text=True,
        env=conveyor_env(tmp_path),
        timeout=170,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Demo passed" in done.stdout
    assert "h264 1280x720" in done.stdout
    assert "SUBMITTED" in done.stdout and "SUCCEEDED" in done.stdout
    assert "s3://conveyor-archive/demo/sample-1080p.mp4" in done.stdout
    assert time.monotonic() - started < 120


@pytest.fixture
def local_up(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], dict]]:
    env = conveyor_env(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "conveyor.cli", "local", "up", "--port", str(free_port())],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    state_file = tmp_path / "local.json"
    deadline = time.monotonic() + 60
    while not state_file.exists():
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        assert time.monotonic() < deadline, "local up did not start"
        time.sleep(0.2)
    yield process, json.loads(state_file.read_text())
    if process.poll() is None:
        process.kill()


def test_local_up_serves_other_terminals_and_stops_cleanly(
    local_up: tuple[subprocess.Popen[str], dict], tmp_path: Path
) -> None:
    process, state = local_up
    s3 = boto3.client(
        "s3",
        endpoint_url=state["endpoint"],
        aws_access_key_id="x",
        aws_secret_access_key="x",
        region_name="us-east-1",
    )
    video = make_video(tmp_path / "clip.mov", width=640, height=360, seconds=1, faststart=False)
    s3.upload_file(str(video), state["settings"]["CONVEYOR_STAGING_BUCKET"], "in/clip ü.mov")

    env = conveyor_env(tmp_path)  # another terminal: no settings at all
    deadline = time.monotonic() + 90
    rows: list[dict] = []
    while time.monotonic() < deadline:
        listed = subprocess.run(
            [sys.executable, "-m", "conveyor.cli", "jobs", "--json"],
            capture_output=True,
            text=True,
            env=env,
        )
        assert listed.returncode == 0, listed.stderr
        rows = json.loads(listed.stdout)
        if rows and rows[0]["status"] in ("SUCCEEDED", "FAILED"):
            break
        time.sleep(1)
    [row] = rows
    assert (row["key"], row["status"], row["transform"]) == (
        "in/clip ü.mov",
        "SUCCEEDED",
        "h264-720p",
    )
    assert row["output"]["key"] == "in/clip ü.h264-720p.mp4"
    assert Path(row["log_stream"]).is_file()

    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "Stopped." in output and "SUCCEEDED" in output
    assert not (tmp_path / "local.json").exists()
