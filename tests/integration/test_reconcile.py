"""`conveyor reconcile`, its scheduled Lambda, and `conveyor local up`: ledger entries whose events
went missing, put right from what Batch (or the local executor) says of their jobs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer
from typer.testing import CliRunner

from completion_lambda import handler as completion_handler
from completion_lambda import reconcile as reconcile_lambda
from conveyor.aws import client
from conveyor.clock import iso, utcnow
from conveyor.events.batch import JobStateChange, parse_job_state_change
from conveyor.ledger import transitions
from conveyor.ledger.store import Ledger
from conveyor.reconcile import JOB_LOST, reconcile
from conveyor.status import Status
from conveyor_local import state
from tests.conftest import Stack
from tests.integration.helpers import fresh_completion_handler, state_change
from tests.integration.test_trigger import COPY_EVERYTHING, deliver, jobs_by_key
from trigger_lambda import handler as trigger_handler

runner = CliRunner()
ROW_FIELDS = {
    "key",
    "version_id",
    "job_id",
    "updated_at",
    "ledger_status",
    "batch_status",
    "action",
    "new_status",
    "reason",
}


@pytest.fixture
def submit(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Upload keys and let the trigger submit their jobs (moto's Batch calls them SUCCEEDED)."""
    monkeypatch.setenv("CONVEYOR_ROUTES", COPY_EVERYTHING)
    trigger_handler.trigger.cache_clear()
    fresh_completion_handler()

    def submitted(*keys: str) -> dict[str, dict[str, Any]]:
        for key in keys:
            stack.s3.put_object(Bucket=stack.staging, Key=key, Body=b"data")
        messages = stack.receive_all(expected=len(keys))
        assert deliver(stack, trigger_handler.handler, messages) == []
        return {key: jobs[0] for key, jobs in jobs_by_key(stack).items() if key in keys}

    yield submitted
    trigger_handler.trigger.cache_clear()
    fresh_completion_handler()


def ledger(stack: Stack, ago: timedelta = timedelta()) -> Ledger:
    """The ledger; with `ago`, one that writes as if it were that long ago."""
    return Ledger(
        client("dynamodb"), stack.settings["CONVEYOR_LEDGER_TABLE"], clock=lambda: utcnow() - ago
    )


def running(stack: Stack, job: dict[str, Any], ago: timedelta) -> None:
    """Record the RUNNING event of `job` as it arrived `ago`; its later events never do."""
    change = parse_job_state_change(state_change(job, "RUNNING", startedAt=job["createdAt"]))
    assert ledger(stack, ago).apply(change)


def lost_entry(stack: Stack, key: str, ago: timedelta) -> str:
    """A RUNNING entry whose job id Batch has never heard of; returns that id."""
    job_id = str(uuid.uuid4())
    change = JobStateChange(
        job_id=job_id,
        status=Status.RUNNING,
        parameters={"bucket": stack.staging, "key": key, "version_id": "v1", "etag": "abc"},
        created_at=1,
    )
    assert ledger(stack, ago).apply(change)
    return job_id


def entry(stack: Stack, key: str) -> dict[str, Any]:
    [found] = ledger(stack).versions_of(stack.staging, key)
    return found


def cli(*args: str) -> Any:
    result = runner.invoke(app(), ["reconcile", *args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout) if "--json" in args else result.stdout


def app() -> Any:
    from conveyor_cli.main import app

    return app


def test_reconcile_applies_batch_answers_once(stack: Stack, submit: Any) -> None:
    jobs = submit("old.txt", "young.txt")
    running(stack, jobs["old.txt"], timedelta(hours=1))
    running(stack, jobs["young.txt"], timedelta(minutes=5))
    lost = lost_entry(stack, "lost.txt", timedelta(hours=2))

    preview = cli("--dry-run", "--json")
    assert [(r["key"], r["action"], r["new_status"]) for r in preview] == [
        ("lost.txt", "would update", "FAILED"),
        ("old.txt", "would update", "SUCCEEDED"),
    ]
    assert all(set(row) == ROW_FIELDS for row in preview)
    assert preview[0]["job_id"] == lost and preview[0]["batch_status"] is None
    assert preview[0]["reason"] == JOB_LOST
    assert preview[1]["batch_status"] == "SUCCEEDED"
    assert preview[1]["ledger_status"] == "RUNNING" and preview[1]["version_id"]
    assert {entry(stack, k)["status"] for k in ("old.txt", "lost.txt")} == {"RUNNING"}

    done = cli("--json")
    assert [(r["key"], r["action"], r["new_status"]) for r in done] == [
        ("lost.txt", "updated", "FAILED"),
        ("old.txt", "updated", "SUCCEEDED"),
    ]
    old, gone = entry(stack, "old.txt"), entry(stack, "lost.txt")
    assert old["status"] == "SUCCEEDED" and old["job_id"] == jobs["old.txt"]["jobId"]
    assert [h["status"] for h in old["history"]] == ["SUBMITTED", "RUNNING", "SUCCEEDED"]
    assert (gone["status"], gone["status_reason"], gone["job_id"]) == ("FAILED", JOB_LOST, lost)
    assert entry(stack, "young.txt")["status"] == "RUNNING"  # not older than 15 minutes

    assert cli("--json") == []  # a second run changes nothing
    assert entry(stack, "old.txt")["revision"] == old["revision"]

    table = cli("--older-than", "1m")
    assert "conveyor reconcile" in table and "young.txt" in table and "updated" in table
    assert entry(stack, "young.txt")["status"] == "SUCCEEDED"
    assert "Nothing to do." in cli("--older-than", "0s")


def test_batch_agreeing_with_the_ledger_changes_nothing(stack: Stack, submit: Any) -> None:
    jobs = submit("long.mov")
    running(stack, jobs["long.mov"], timedelta(hours=1))
    before = entry(stack, "long.mov")

    class StillRunning:
        def describe_jobs(self, *, jobs: list[str]) -> dict[str, Any]:
            described = stack.batch.describe_jobs(jobs=jobs)["jobs"]
            return {"jobs": [{**job, "status": "RUNNING", "attempts": []} for job in described]}

    [row] = reconcile(ledger(stack), StillRunning())
    assert (row["action"], row["batch_status"], row["new_status"]) == (
        "unchanged",
        "RUNNING",
        None,
    )
    assert entry(stack, "long.mov") == before


def test_describe_jobs_is_asked_100_ids_at_a_time(stack: Stack) -> None:
    an_hour_ago = iso(utcnow() - timedelta(hours=1))
    known = stack.batch.submit_job(  # one job Batch knows, so its silence on the rest is "lost"
        jobName="known",
        jobQueue=stack.settings["CONVEYOR_JOB_QUEUE"],
        jobDefinition=stack.settings["CONVEYOR_JOB_DEFINITION"],
    )["jobId"]
    items = [
        transitions.apply(
            None,
            JobStateChange(
                job_id=known if i == 0 else str(uuid.uuid4()),
                status=Status.RUNNING,
                parameters={"bucket": stack.staging, "key": f"many/{i}", "etag": f"e{i}"},
            ),
            an_hour_ago,
        )
        for i in range(101)
    ]
    serializer = TypeSerializer()
    for start in range(0, len(items), 25):  # one write per 25 entries keeps the test quick
        requests = [
            {"PutRequest": {"Item": {k: serializer.serialize(v) for k, v in item.items()}}}
            for item in items[start : start + 25]
            if item is not None
        ]
        stack.dynamodb.batch_write_item(
            RequestItems={stack.settings["CONVEYOR_LEDGER_TABLE"]: requests}
        )
    calls: list[int] = []

    class Spy:
        def describe_jobs(self, *, jobs: list[str]) -> dict[str, Any]:
            calls.append(len(jobs))
            return stack.batch.describe_jobs(jobs=jobs)

    rows = reconcile(ledger(stack), Spy(), dry_run=True)
    assert calls == [100, 1]
    assert len(rows) == 101
    assert {(r["action"], r["new_status"], r["reason"]) for r in rows if r["job_id"] != known} == {
        ("would update", "FAILED", JOB_LOST)
    }


def test_bad_threshold_and_local_stack_are_refused(
    stack: Stack, moto_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lost_entry(stack, "kept.txt", timedelta(hours=1))
    bad = conveyor("reconcile", "--older-than", "soon")
    assert bad.returncode == 1 and bad.stderr.startswith("error: not a duration: 'soon'")
    monkeypatch.setenv(state.HOME, str(tmp_path))
    state.write({"pid": os.getpid(), "endpoint": moto_endpoint, "settings": stack.settings})
    local = conveyor("reconcile")
    assert local.returncode == 1, local.stdout + local.stderr
    assert len(local.stderr.strip().splitlines()) == 1
    assert "`conveyor local up` reconciles by itself" in local.stderr
    assert entry(stack, "kept.txt")["status"] == "RUNNING"


def conveyor(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conveyor_cli", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
    )


def test_scheduled_lambda_reconciles_and_prints_metrics(
    stack: Stack, submit: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs = submit("scheduled.txt")
    running(stack, jobs["scheduled.txt"], timedelta(hours=1))
    lost_entry(stack, "vanished.txt", timedelta(hours=1))
    reconcile_lambda._clients.cache_clear()
    try:
        result = reconcile_lambda.handler({"source": "aws.events"}, None)
    finally:
        reconcile_lambda._clients.cache_clear()
    assert result == {"checked": 2, "updated": 2, "lost": 1, "announced": 0, "unannounced": 0}
    assert entry(stack, "scheduled.txt")["status"] == "SUCCEEDED"
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "_aws" in line]
    [metrics] = [m for m in emf if "EntriesReconciled" in m]
    assert metrics["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Conveyor"
    assert (metrics["EntriesReconciled"], metrics["JobsLost"]) == ([2.0], [1.0])
    # The "work stuck" alarm reads this, by this dimension: both entries moved, none is stuck.
    assert metrics["OldestInFlightSeconds"] == [0.0]
    assert metrics["service"] == "conveyor-reconcile"
    assert ["service"] in metrics["_aws"]["CloudWatchMetrics"][0]["Dimensions"]


def test_local_up_reconciles_from_its_executor(monkeypatch: pytest.MonkeyPatch) -> None:
    """The completion handler fails on every final event; the loop records them from the
    executor, which knows a job failed where moto's Batch would say SUCCEEDED."""
    from conveyor_local import stack as local_stack

    def drop_final(event: dict[str, Any], context: Any) -> Any:
        if event["detail"]["status"] in ("SUCCEEDED", "FAILED"):
            raise RuntimeError("the completion Lambda failed")
        return original(event, context)

    original = completion_handler.handler
    environ = dict(os.environ)
    monkeypatch.setattr(completion_handler, "handler", drop_final)
    monkeypatch.setattr(local_stack, "RECONCILE_SECONDS", 0.2)
    monkeypatch.setattr(local_stack, "RECONCILE_OLDER_THAN", timedelta())
    routes = [{"match": "*.mov", "transform": "h264-720p"}, {"match": "*", "transform": "copy"}]
    monkeypatch.setenv("CONVEYOR_ROUTES", json.dumps(routes))
    running_stack = local_stack.start(workers=1, record_state=False)
    try:
        s3 = client("s3")
        table = Ledger(client("dynamodb"), running_stack.settings["CONVEYOR_LEDGER_TABLE"])
        staging = running_stack.settings["CONVEYOR_STAGING_BUCKET"]
        s3.put_object(Bucket=staging, Key="local.txt", Body=b"local")
        s3.put_object(Bucket=staging, Key="broken.mov", Body=b"not a video")
        lost = JobStateChange(
            job_id=str(uuid.uuid4()),
            status=Status.RUNNING,
            parameters={"bucket": staging, "key": "gone.txt", "version_id": "v1", "etag": "e"},
        )
        assert table.apply(lost)
        expected = {"local.txt": "SUCCEEDED", "broken.mov": "FAILED", "gone.txt": "FAILED"}
        deadline = time.monotonic() + 30
        statuses: dict[str, str | None] = {}
        while time.monotonic() < deadline and statuses != expected:
            time.sleep(0.2)
            statuses = {
                key: (table.versions_of(staging, key) or [{}])[0].get("status") for key in expected
            }
        assert statuses == expected
        [done] = table.versions_of(staging, "local.txt")
        assert done["exit_code"] == 0 and done["history"][-1]["status"] == "SUCCEEDED"
        assert table.versions_of(staging, "broken.mov")[0]["exit_code"] == 65
        assert table.versions_of(staging, "gone.txt")[0]["status_reason"] == JOB_LOST
    finally:
        running_stack.stop()
        os.environ.clear()
        os.environ.update(environ)
        trigger_handler.trigger.cache_clear()
        fresh_completion_handler()
