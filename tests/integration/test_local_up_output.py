"""`conveyor local up`'s log, piped from a narrow terminal: lines stay whole and literal."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from pathlib import Path

from tests.conftest import free_port
from tests.integration.local import LOCAL_UP, conveyor_env, stack_s3

KEY = "odd/[/] [x] [bold]b[/]old.mov"
"""Markup that crashed the job line, or vanished from it; moto lists no control characters."""


def test_setting_and_job_lines_are_never_wrapped_nor_read_as_markup(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [*LOCAL_UP, str(free_port()), "--web-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**conveyor_env(tmp_path), "COLUMNS": "40"},
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout or []), daemon=True)
    reader.start()
    try:
        state_file = tmp_path / "local.json"
        deadline = time.monotonic() + 60
        while not state_file.exists():
            assert process.poll() is None and time.monotonic() < deadline, "".join(lines)
            time.sleep(0.2)
        state = json.loads(state_file.read_text())
        s3 = stack_s3(state)
        # Not a video: the job fails at once (exit 65), and its line names the key.
        s3.put_object(Bucket=state["settings"]["CONVEYOR_STAGING_BUCKET"], Key=KEY, Body=b"no")
        deadline = time.monotonic() + 90
        while not any("FAILED" in line for line in lines):
            assert process.poll() is None and time.monotonic() < deadline, "".join(lines)
            time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0, "".join(lines)
    finally:
        if process.poll() is None:
            process.kill()
    reader.join(timeout=10)
    for name, value in state["settings"].items():
        assert f"  {name}={value}\n" in lines, (name, "".join(lines))
    assert any(len(line) > 40 for line in lines)  # long lines were there to be wrapped
    [failed] = [line for line in lines if "FAILED" in line]
    assert failed.endswith(f"{KEY} (exit 65)\n")
