"""`conveyor demo` and `conveyor local up`, as a newcomer runs them: real processes, real ffmpeg."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor_local.media import make_video
from tests.conftest import free_port
from tests.integration.local import conveyor_env, output_of, stack_s3, start_local_up


def test_demo_end_to_end(tmp_path: Path) -> None:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "conveyor_cli", "demo"],
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
    assert done.stdout.rstrip().endswith(
        "`conveyor demo --web` serves the upload page on 127.0.0.1."
    )
    assert time.monotonic() - started < 120


@pytest.fixture
def local_up(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], dict]]:
    process, state = start_local_up(tmp_path)
    yield process, state
    if process.poll() is None:
        process.kill()


def test_local_up_serves_other_terminals_and_stops_cleanly(
    local_up: tuple[subprocess.Popen[str], dict], tmp_path: Path
) -> None:
    process, state = local_up
    s3 = stack_s3(state)
    video = make_video(tmp_path / "clip.mov", width=640, height=360, seconds=1, faststart=False)
    s3.upload_file(str(video), state["settings"]["CONVEYOR_STAGING_BUCKET"], "in/clip ü.mov")

    env = conveyor_env(tmp_path)  # another terminal: no settings at all
    deadline = time.monotonic() + 90
    rows: list[dict] = []
    while time.monotonic() < deadline:
        listed = subprocess.run(
            [sys.executable, "-m", "conveyor_cli", "jobs", "--json"],
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
    assert row["output"]["key"] == "in/clip ü.mov.h264-720p.mp4"
    assert Path(row["log_stream"]).is_file()

    process.send_signal(signal.SIGINT)
    process.wait(timeout=30)
    output = output_of(tmp_path)
    assert process.returncode == 0, output
    assert "Stopped." in output and "SUCCEEDED" in output
    assert not (tmp_path / "local.json").exists()


def run_cli(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conveyor_cli", *args],
        capture_output=True,
        text=True,
        env={**conveyor_env(home), **env},
        timeout=30,
    )


def assert_one_line_error(done: subprocess.CompletedProcess[str], message: str) -> None:
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
    assert message in done.stderr


@pytest.mark.parametrize(
    ("routes", "message"),
    [
        ('[{"match": "*", "transform": "h265"}]', "rule 1 ({"),
        ('[{"match": "*", "transform": "h265"}]', "unknown transform 'h265'; known: copy"),
        ('[{"match": "*.mov"', "CONVEYOR_ROUTES is not valid JSON"),
    ],
)
def test_local_up_with_invalid_routes_stops_at_once(
    tmp_path: Path, routes: str, message: str
) -> None:
    port = free_port()
    done = run_cli(tmp_path, "local", "up", "--port", str(port), CONVEYOR_ROUTES=routes)
    assert_one_line_error(done, message)
    assert not (tmp_path / "local.json").exists()
    with socket.create_server(("127.0.0.1", port)):
        pass  # nothing was started on it


def test_local_up_on_a_port_in_use_stops_at_once(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = run_cli(tmp_path, "local", "up", "--port", str(port))
    assert_one_line_error(done, f"cannot listen on 127.0.0.1:{port}: Address already in use")
    assert not (tmp_path / "local.json").exists()


@pytest.mark.parametrize("port", ["0", "70000", "-1"])
def test_local_up_refuses_a_port_out_of_range(tmp_path: Path, port: str) -> None:
    done = run_cli(tmp_path, "local", "up", "--port", port)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Invalid value for '--port'" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["jobs"], {"AWS_ENDPOINT_URL": "not-a-url"}, "AWS_ENDPOINT_URL='not-a-url' is not a"),
        (["jobs"], {"AWS_ENDPOINT_URL": "http://127.0.0.1:99999"}, "port must be a number"),
        (["jobs"], {"AWS_ENDPOINT_URL_DYNAMODB": "ftp://x"}, "AWS_ENDPOINT_URL_DYNAMODB='ftp"),
        (["local", "provision", "--endpoint-url", "foo"], {}, "'foo' is not a usable endpoint"),
    ],
)
def test_an_invalid_endpoint_url_is_one_line(
    tmp_path: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    settings = {
        "CONVEYOR_LEDGER_TABLE": "ledger",
        "CONVEYOR_STAGING_BUCKET": "staging",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    assert_one_line_error(run_cli(tmp_path, *args, **settings, **env), message)


def test_reprocess_refuses_an_unknown_transform_before_anything(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "reprocess", "--key-prefix", "videos/", "--transform", "h265")
    assert_one_line_error(done, "--transform: unknown transform 'h265'; known: copy, gzip")
    # `command` needs the argv only a route gives: every job would fail, so nothing is copied.
    done = run_cli(tmp_path, "reprocess", "--key-prefix", "videos/", "--transform", "command")
    assert_one_line_error(done, "--transform command needs a command line")


SLOW_ROUTES = json.dumps([{"match": "*", "transform": "command", "argv": ["sleep", "30"]}])
"""A job that runs until it is stopped: `sleep` is its tool, the worker waits for its output."""


def processes() -> dict[int, tuple[int, int, str]]:
    """Every live process: pid -> (parent pid, process group, command line)."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, ppid, pgid = stat.read_text().rsplit(")", 1)[1].split()[:3]
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError):
            continue
        if state != "Z":
            found[int(stat.parent.name)] = (int(ppid), int(pgid), cmdline)
    return found


def running_job(stack_pid: int, state: dict) -> tuple[int, int]:
    """Upload a file to the stack and wait for its job: (worker pid, its tool's pid)."""
    s3 = stack_s3(state)
    s3.put_object(Bucket=state["settings"]["CONVEYOR_STAGING_BUCKET"], Key="slow.txt", Body=b"x")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = processes()
        workers = [p for p, (pp, _, cmd) in found.items() if pp == stack_pid and "batch_job" in cmd]
        tools = [p for p, (pp, _, cmd) in found.items() if pp in workers and "sleep" in cmd]
        if workers and tools:
            return workers[0], tools[0]
        time.sleep(0.2)
    raise AssertionError("the job did not start")


def gone(*pids: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not set(pids) & set(processes()):
            return True
        time.sleep(0.1)
    return False


def kill_all(*pids: int) -> None:
    """Clean up after a failure: nothing a test started may outlive it."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


@linux_only
def test_a_killed_local_up_takes_its_jobs_along_and_restarts_empty(tmp_path: Path) -> None:
    process, state = start_local_up(tmp_path, CONVEYOR_ROUTES=SLOW_ROUTES)
    try:
        worker, tool = running_job(process.pid, state)
    finally:
        process.kill()  # SIGKILL: no handler runs, no clean stop
        process.wait(timeout=10)
    survived = not gone(worker, within=5)
    kill_all(worker, tool)  # the tool itself is orphaned until its pipe breaks
    assert not survived, "the job's worker outlived the stack"

    again, fresh = start_local_up(tmp_path)  # the dead stack's local.json is not "running"
    try:
        assert fresh["pid"] == again.pid and fresh["endpoint"] != state["endpoint"]
        listed = stack_s3(fresh).list_object_versions(
            Bucket=fresh["settings"]["CONVEYOR_STAGING_BUCKET"]
        )
        assert "Versions" not in listed  # a throwaway stack: the old upload is gone, as it says
    finally:
        again.kill()


@linux_only
def test_sigterm_stops_local_up_and_every_process_of_its_jobs(tmp_path: Path) -> None:
    process, state = start_local_up(tmp_path, "--grace", "1", CONVEYOR_ROUTES=SLOW_ROUTES)
    try:
        worker, tool = running_job(process.pid, state)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
        output = output_of(tmp_path)
    finally:
        process.kill()
    stopped = gone(worker, tool, within=2)
    kill_all(worker, tool)
    assert process.returncode == 0, output
    assert "throwaway stack: its buckets, queue and ledger live in memory" in output
    assert "Stopping: waiting for running jobs (1 s at most)" in output and "Stopped." in output
    assert stopped, "a job's process outlived the stack"
