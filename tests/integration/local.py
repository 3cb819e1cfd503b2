"""Driving `conveyor local up` as a person does: a real process, another terminal, its S3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3

from tests.conftest import free_port

LOCAL_UP = (sys.executable, "-m", "conveyor_cli", "local", "up", "--port")
"""Then the moto port; the page's on any free port (`local up` runs alongside other tests)."""


def conveyor_env(home: Path) -> dict[str, str]:
    """A shell with no CONVEYOR_* settings nor endpoint; only where the local stack keeps state."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONVEYOR_", "AWS_"))}
    return {**env, "CONVEYOR_HOME": str(home), "COLUMNS": "200"}


def start_local_up(home: Path, *args: str, **env: str) -> tuple[subprocess.Popen[str], dict]:
    """`conveyor local up` as a process, once it has recorded itself in `home`/local.json."""
    # Its output goes to a file, never an unread pipe: a stack that logs more than the pipe's
    # 64 KiB (retries under load) would block on its next log line, mid-request.
    with log_path(home).open("w") as log:
        process = subprocess.Popen(
            [*LOCAL_UP, str(free_port()), "--web-port", "0", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            env={**conveyor_env(home), **env},
        )
    state_file = home / "local.json"
    deadline = time.monotonic() + 60
    while not (state_file.exists() and json.loads(state_file.read_text())["pid"] == process.pid):
        assert process.poll() is None, output_of(home)
        assert time.monotonic() < deadline, "local up did not start"
        time.sleep(0.2)
    return process, json.loads(state_file.read_text())


def log_path(home: Path) -> Path:
    return home / "local-up.log"


def output_of(home: Path) -> str:
    """What the `local up` started in `home` has printed so far."""
    return log_path(home).read_text(errors="replace")


def stack_s3(state: dict) -> Any:
    """An S3 client on a running local stack, as any tool of the user's would make it."""
    return boto3.client(
        "s3",
        endpoint_url=state["endpoint"],
        aws_access_key_id="x",
        aws_secret_access_key="x",
        region_name="us-east-1",
    )
