"""Five uploads to one key within 50 ms on the local stack, as a user makes them: every version
ends accounted for, the newest one's output wins, and `resubmit --failed` finds nothing to redo.
And a burst of small files uploaded at once with SubmitJob throttled: one job each, none lost."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.burst import burst_stack, run_burst
from tests.integration.local import conveyor_env, stack_s3, start_local_up

ROUTES = json.dumps([{"match": "*", "transform": "copy"}])


@pytest.fixture
def local_stack(tmp_path: Path) -> Iterator[tuple[dict, dict[str, str]]]:
    """`conveyor local up` copying every file; yields its state and a shell that finds it."""
    process, state = start_local_up(tmp_path, CONVEYOR_ROUTES=ROUTES)
    try:
        yield state, conveyor_env(tmp_path)
    finally:
        process.terminate()
        process.wait(timeout=30)


def conveyor(env: dict[str, str], *args: str) -> list[dict] | None:
    """The command's JSON, or None when the ledger has no record yet (exit 1, "no record")."""
    done = subprocess.run(
        [sys.executable, "-m", "conveyor_cli", *args, "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    if done.returncode == 1 and "has no record" in done.stderr:
        return None
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def what_happened(row: dict) -> str:
    """A failed row's story for the assertion message: its error and the end of its job's log."""
    story = f"{row['version_id']} {row['status']} exit {row['exit_code']}: {row['error']}"
    log = Path(row["log_stream"] or "/nonexistent")
    return story + ("\n" + log.read_text()[-3000:] if log.is_file() else "")


def test_five_fast_uploads_end_with_the_newest_output(local_stack: tuple[dict, dict]) -> None:
    state, env = local_stack
    s3 = stack_s3(state)
    staging = state["settings"]["CONVEYOR_STAGING_BUCKET"]
    started = time.monotonic()
    versions = [
        s3.put_object(Bucket=staging, Key="fast.txt", Body=f"upload {n}".encode())["VersionId"]
        for n in range(5)
    ]
    assert time.monotonic() - started < 1.0

    deadline = time.monotonic() + 90
    rows: list[dict] = []
    while time.monotonic() < deadline:
        rows = conveyor(env, "show", "fast.txt") or []
        if len(rows) == 5 and all(
            r["status"] in ("SUCCEEDED", "FAILED", "SUPERSEDED") for r in rows
        ):
            break
        time.sleep(1)
    statuses = {r["version_id"]: r["status"] for r in rows}
    assert statuses == {
        **{v: "SUPERSEDED" for v in versions[:-1]},
        versions[-1]: "SUCCEEDED",
    }, [what_happened(r) for r in rows]

    output = state["settings"]["CONVEYOR_OUTPUT_BUCKET"]
    assert s3.get_object(Bucket=output, Key="fast.txt")["Body"].read() == b"upload 4"
    assert "Versions" not in s3.list_object_versions(Bucket=staging, Prefix="fast.txt")
    archive = state["settings"]["CONVEYOR_ARCHIVE_BUCKET"]
    archived = s3.list_object_versions(Bucket=archive, Prefix="fast.txt")["Versions"]
    assert len(archived) == 5
    assert conveyor(env, "resubmit", "--failed", "--since", "1h") == []


BURST_FILES = 25
"""Each job is a `python -m batch_job` process (~0.5 s of CPU): enough files to keep both workers
and the trigger busy at once, few enough for a 2-core machine; `bench/burst.py` runs 1,000."""


def test_a_burst_of_uploads_with_submitjob_throttled_gets_one_job_each() -> None:
    """SubmitJob throttled to 5 a second (no bursts), below the trigger's own pace: throttled
    SubmitJobs are retried (botocore, then the message's redelivery), never dropped nor doubled:
    one job per version, every version SUCCEEDED, staging empty, every output written."""
    with burst_stack(per_second=5, burst=1, workers=2) as (stack, finished, calls):
        result = run_burst(stack, finished, calls, files=BURST_FILES, timeout=240)

    assert result.submit_throttled > 0  # else this test shows nothing
    assert result.submit_requests >= BURST_FILES + result.submit_throttled
    assert result.not_succeeded == {}
    assert (result.jobs, result.duplicate_jobs, result.duplicate_claims) == (BURST_FILES, 0, 0)
    assert (result.staging_left, result.outputs) == (0, BURST_FILES)
