"""Every error a person can make at the prompt ends as one line on stderr and a non-zero exit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def conveyor(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONVEYOR_", "AWS_"))}
    env.update(CONVEYOR_HOME=str(home), COLUMNS="80")
    return subprocess.run(
        [sys.executable, "-m", "conveyor_cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["local", "up", "--port", "70000"], "'--port'"),
        (["local", "up", "--workers", "0"], "'--workers'"),
        (["jobs", "--status", "NOPE"], "'NOPE' is not one of"),
        (["jobs", "--bogus"], "No such option: --bogus"),
        (["show"], "Missing argument"),
    ],
)
def test_usage_errors_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    done = conveyor(tmp_path, *args)
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line.startswith("error: ") and message in line and "--help" in line
    assert done.stdout == ""


def test_a_second_local_up_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "local.json").write_text(
        json.dumps({"pid": os.getpid(), "endpoint": "http://127.0.0.1:1", "settings": {}})
    )
    done = conveyor(tmp_path, "local", "up")
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith("error: a local stack is already running")


def test_a_dead_local_stack_is_named_not_a_list_of_settings(tmp_path: Path) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    )
    pid = int(gone.stdout)
    state = {"pid": pid, "endpoint": "http://127.0.0.1:1", "settings": {}}
    (tmp_path / "local.json").write_text(json.dumps(state))
    done = conveyor(tmp_path, "jobs")
    assert done.returncode == 1
    assert f"the local stack (pid {pid}) is no longer running" in done.stderr
    assert not (tmp_path / "local.json").exists()  # said once
    again = conveyor(tmp_path, "jobs")
    assert "no longer running" not in again.stderr and "set them" in again.stderr
