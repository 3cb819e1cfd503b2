"""`conveyor local up --faults 0.1`: the whole pipeline behind the fault proxy, as a user tries
their own uploads under faults; it says so at start and tells what was injected when it stops."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.integration.local import LOCAL_UP, conveyor_env, output_of, stack_s3, start_local_up
from tests.integration.test_local_stack import assert_one_line_error, run_cli

ROUTES = json.dumps([{"match": "*", "transform": "copy"}])


def test_local_up_under_faults_processes_uploads_and_reports_faults(tmp_path: Path) -> None:
    process, state = start_local_up(
        tmp_path, "--faults", "0.1", "--fault-seed", "3", CONVEYOR_ROUTES=ROUTES
    )
    try:
        port = process.args[len(LOCAL_UP)]
        assert state["endpoint"] == f"http://127.0.0.1:{port}"  # the proxy, on the port asked for
        s3 = stack_s3(state)  # through the proxy, as any tool of the user's
        staging = state["settings"]["CONVEYOR_STAGING_BUCKET"]
        keys = [f"faulty/{n}.txt" for n in range(3)]
        for key in keys:
            s3.put_object(Bucket=staging, Key=key, Body=key.encode())
        env = conveyor_env(tmp_path)
        deadline = time.monotonic() + 90
        rows: list[dict] = []
        while time.monotonic() < deadline:
            listed = subprocess.run(
                [sys.executable, "-m", "conveyor_cli", "jobs", "--json"],
                capture_output=True,
                text=True,
                env=env,
            )
            rows = json.loads(listed.stdout) if listed.returncode == 0 else []
            if len(rows) == 3 and all(r["status"] == "SUCCEEDED" for r in rows):
                break
            time.sleep(1)
        assert sorted((r["key"], r["status"]) for r in rows) == [(k, "SUCCEEDED") for k in keys]
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
        output = output_of(tmp_path)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert "faults: 10% of S3, SQS, DynamoDB and Batch requests fail (seed 3)" in output
    table = output.split("Requests and the faults injected:\n", 1)[1].splitlines()
    header = table[0].split()
    assert header[:2] == ["service", "requests"]
    rows_by_service = {line.split()[0]: line.split() for line in table[1:] if line.strip()}
    assert {"s3", "sqs", "dynamodb", "batch"} <= set(rows_by_service)
    faults = header.index("faults")
    assert sum(int(row[faults]) for row in rows_by_service.values() if len(row) == len(header)) > 0


def test_local_up_under_faults_on_a_port_in_use_stops_at_once(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = run_cli(tmp_path, "local", "up", "--port", str(port), "--faults", "0.1")
    assert_one_line_error(done, f"cannot listen on 127.0.0.1:{port}: Address already in use")
    assert not (tmp_path / "local.json").exists()
