"""The local executor runs array jobs as Batch does: each child once, with its index, retried by
the same rules as any job, and the parent ending after its last child with their verdict. A
stand-in worker (recording_worker.py) records what each child was given."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from conveyor_local.executor import LocalExecutor
from tests.conftest import Stack

RECORDER = (sys.executable, str(Path(__file__).with_name("recording_worker.py")))
COMMAND = ["--record", "Ref::record", "--fail", "Ref::fail", "--transient", "Ref::transient"]
STEPS = ["PENDING", "RUNNABLE", "STARTING", "RUNNING"]


class Run:
    """An executor on the test's queue running the recorder, and what it delivered."""

    def __init__(self, stack: Stack, tmp_path: Path, workers: int = 2) -> None:
        self.stack = stack
        self.queue = stack.settings["CONVEYOR_JOB_QUEUE"]
        self.records = tmp_path / "runs"
        self.records.mkdir()
        self.events: list[dict[str, Any]] = []
        self._events_lock = threading.Lock()
        self.definition = stack.batch.register_job_definition(
            jobDefinitionName=f"recorder-{uuid.uuid4().hex[:8]}",
            type="container",
            parameters={"record": "", "fail": "", "transient": ""},
            containerProperties={
                "image": "recorder",
                "command": COMMAND,
                "vcpus": 1,
                "memory": 128,
            },
        )["jobDefinitionArn"]
        self.executor = LocalExecutor(
            batch=stack.batch,
            job_queue=self.queue,
            environment={"PATH": "/usr/bin:/bin"},
            logs_dir=tmp_path / "logs",
            deliver=self._deliver,
            workers=workers,
            entrypoint=RECORDER,
        )

    def _deliver(self, event: dict[str, Any]) -> None:
        with self._events_lock:
            self.events.append(event["detail"])

    def submit(self, size: int | None = None, **parameters: str) -> str:
        extra = {"arrayProperties": {"size": size}} if size else {}
        return self.stack.batch.submit_job(
            jobName="recorded",
            jobQueue=self.queue,
            jobDefinition=self.definition,
            parameters={"record": str(self.records), **parameters},
            **extra,
        )["jobId"]

    def run(self) -> None:
        """Poll once and wait for every job found to end."""
        assert self.executor.poll() >= 1
        deadline = time.monotonic() + 60
        while not self.executor.idle():
            assert time.monotonic() < deadline, "the executor did not finish"
            time.sleep(0.05)

    def runs(self) -> list[dict[str, Any]]:
        """What the recorder was given, one entry per attempt."""
        return [json.loads(p.read_text())["env"] for p in sorted(self.records.iterdir())]

    def statuses(self, job_id: str) -> list[str]:
        return [e["status"] for e in self.events if e["jobId"] == job_id]

    def final(self, job_id: str) -> dict[str, Any]:
        return [e for e in self.events if e["jobId"] == job_id][-1]

    def position(self, job_id: str, status: str) -> int:
        return next(
            n for n, e in enumerate(self.events) if e["jobId"] == job_id and e["status"] == status
        )


@pytest.fixture
def recorded(stack: Stack, tmp_path: Path) -> Iterator[Run]:
    run = Run(stack, tmp_path)
    yield run
    run.executor.shutdown(grace=0)


def summary(**counts: int) -> dict[str, int]:
    statuses = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")
    return {status: counts.get(status, 0) for status in statuses}


def test_each_child_runs_once_with_its_index_and_the_parent_succeeds_last(recorded: Run) -> None:
    parent = recorded.submit(size=3)
    recorded.run()

    children = [f"{parent}:{i}" for i in range(3)]
    assert sorted(
        (r["AWS_BATCH_JOB_ID"], r["AWS_BATCH_JOB_ARRAY_INDEX"]) for r in recorded.runs()
    ) == [(child, str(i)) for i, child in enumerate(children)]
    assert {r["AWS_BATCH_JOB_ATTEMPT"] for r in recorded.runs()} == {"1"}
    described = recorded.stack.batch.describe_jobs(jobs=[parent])["jobs"][0]
    for i, child in enumerate(children):
        assert recorded.statuses(child) == [*STEPS, "SUCCEEDED"]
        for event in (e for e in recorded.events if e["jobId"] == child):
            assert event["arrayProperties"] == {"index": i}
            assert event["jobArn"] == f"{described['jobArn']}:{i}"
            assert event["parameters"] == described["parameters"]
            assert (event["jobName"], event["jobQueue"], event["jobDefinition"]) == (
                "recorded",
                recorded.queue,
                recorded.definition,
            )
        assert recorded.final(child)["container"]["command"][-6:] == [
            "--record",
            str(recorded.records),
            "--fail",
            "",
            "--transient",
            "",
        ]
    assert recorded.statuses(parent) == ["PENDING", "RUNNING", "SUCCEEDED"]
    assert recorded.position(parent, "SUCCEEDED") > max(
        recorded.position(child, "SUCCEEDED") for child in children
    )
    assert recorded.final(parent)["arrayProperties"] == {
        "size": 3,
        "statusSummary": summary(SUCCEEDED=3),
    }
    assert recorded.executor.poll() == 0  # neither the parent nor a child runs again


def test_one_failed_child_fails_the_parent_after_the_others(recorded: Run) -> None:
    parent = recorded.submit(size=3, fail="1")
    recorded.run()

    assert recorded.statuses(f"{parent}:1") == [*STEPS, "FAILED"]
    assert recorded.final(f"{parent}:1")["container"]["exitCode"] == 65
    assert len(recorded.final(f"{parent}:1")["attempts"]) == 1  # exit 65 is never retried
    assert [recorded.final(f"{parent}:{i}")["status"] for i in (0, 2)] == ["SUCCEEDED"] * 2
    assert recorded.statuses(parent)[-1] == "FAILED"
    assert recorded.position(parent, "FAILED") > max(
        recorded.position(f"{parent}:{i}", s) for i, s in ((0, "SUCCEEDED"), (1, "FAILED"))
    )
    assert recorded.final(parent)["arrayProperties"]["statusSummary"] == summary(
        SUCCEEDED=2, FAILED=1
    )


def test_a_child_exiting_75_is_retried_alone(recorded: Run) -> None:
    parent = recorded.submit(size=3, transient="2")
    recorded.run()

    attempts = sorted((r["AWS_BATCH_JOB_ID"], r["AWS_BATCH_JOB_ATTEMPT"]) for r in recorded.runs())
    assert attempts == [
        (f"{parent}:0", "1"),
        (f"{parent}:1", "1"),
        (f"{parent}:2", "1"),
        (f"{parent}:2", "2"),
    ]
    assert recorded.statuses(f"{parent}:2") == [*STEPS, *STEPS[1:], "SUCCEEDED"]
    final = recorded.final(f"{parent}:2")
    assert [a["container"]["exitCode"] for a in final["attempts"]] == [75, 0]
    assert recorded.final(parent)["status"] == "SUCCEEDED"


def test_describe_jobs_answers_for_the_parent_and_each_child(recorded: Run) -> None:
    parent = recorded.submit(size=2, fail="0")
    ordinary = recorded.submit()
    recorded.run()

    asked = [parent, f"{parent}:0", f"{parent}:1", f"{parent}:2", ordinary]
    described = {j["jobId"]: j for j in recorded.executor.describe_jobs(jobs=asked)["jobs"]}
    assert {k: v["status"] for k, v in described.items()} == {
        parent: "FAILED",
        f"{parent}:0": "FAILED",
        f"{parent}:1": "SUCCEEDED",
        ordinary: "SUCCEEDED",  # `:2` is no child of a 2-job array: Batch leaves it out
    }
    assert described[f"{parent}:0"]["arrayProperties"] == {"index": 0}
    assert described[f"{parent}:0"]["container"]["exitCode"] == 65
    assert described[parent]["arrayProperties"]["statusSummary"] == summary(SUCCEEDED=1, FAILED=1)
    assert "arrayProperties" not in described[ordinary]
    assert [
        r["AWS_BATCH_JOB_ARRAY_INDEX"] for r in recorded.runs() if r["AWS_BATCH_JOB_ID"] == ordinary
    ] == [None]


def test_a_huge_array_is_handed_out_one_child_at_a_time(stack: Stack, tmp_path: Path) -> None:
    """10,000 children: as many threads as workers, no state for children not started."""
    before = set(threading.enumerate())
    run = Run(stack, tmp_path, workers=2)
    try:
        parent = run.submit(size=10_000, transient="")
        assert run.executor.poll() == 1
        # Only this executor's own threads count (moto's request threads come and go
        # meanwhile): its two job slots and its event outbox, none for the 10,000 children.
        started = [t.name for t in set(threading.enumerate()) - before if t.name.startswith("job")]
        assert sorted(started) == ["job-0", "job-1", "job-events"]
        last = run.executor.describe_jobs(jobs=[f"{parent}:9999"])["jobs"]
        assert [j["status"] for j in last] == ["PENDING"]
    finally:
        run.executor.shutdown(grace=0)
    assert len(run.runs()) <= 2 * 3  # at most the children the two workers had started


def test_listing_asks_only_for_jobs_created_since(stack: Stack) -> None:
    """moto (patched as the local stack patches it) honours ListJobs' AFTER_CREATED_AT, so the
    executor's poll need not list every job the queue ever held."""
    queue = stack.settings["CONVEYOR_JOB_QUEUE"]
    job = stack.batch.submit_job(
        jobName="listed", jobQueue=queue, jobDefinition=stack.settings["CONVEYOR_JOB_DEFINITION"]
    )["jobId"]
    created = stack.batch.describe_jobs(jobs=[job])["jobs"][0]["createdAt"]

    def listed(name: str, at: int) -> list[str]:
        filters = [{"name": name, "values": [str(at)]}]
        return [
            j["jobId"]
            for j in stack.batch.list_jobs(jobQueue=queue, filters=filters)["jobSummaryList"]
        ]

    assert listed("AFTER_CREATED_AT", created - 1) == [job]
    assert listed("AFTER_CREATED_AT", created) == []
    assert listed("BEFORE_CREATED_AT", created + 1) == [job]
    assert listed("BEFORE_CREATED_AT", created) == []


def test_a_bulk_resubmission_runs_as_an_array_on_the_local_stack(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Three versions fail under a wrong route; `conveyor resubmit` after the fix sends them as
    one array job of 3 over a manifest; the local executor runs each child, and each version's
    entry ends SUCCEEDED with its child's job id, `<parent>:<index of its record>`."""
    from conveyor import manifest
    from conveyor.aws import client
    from conveyor.ledger.store import Ledger
    from conveyor_cli.main import app
    from conveyor_local import stack as local_stack

    environ = dict(os.environ)
    wrong = [{"match": "*.mov", "transform": "h264-720p"}, {"match": "*", "transform": "copy"}]
    monkeypatch.setenv("CONVEYOR_ROUTES", json.dumps(wrong))
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path))
    running = local_stack.start(workers=2, name=f"arr-{uuid.uuid4().hex[:8]}", record_state=False)
    try:
        settings = running.settings
        staging = settings["CONVEYOR_STAGING_BUCKET"]
        s3 = client("s3")
        ledger = Ledger(client("dynamodb"), settings["CONVEYOR_LEDGER_TABLE"])
        bodies = {f"bulk/{i}.mov": f"not a video {i}".encode() for i in range(3)}
        versions = {
            key: s3.put_object(Bucket=staging, Key=key, Body=body)["VersionId"]
            for key, body in bodies.items()
        }

        def entries() -> dict[str, Any]:
            return {k: (ledger.versions_of(staging, k) or [{}])[0] for k in bodies}

        def wait_for(status: str) -> dict[str, Any]:
            deadline = time.monotonic() + 90
            found = entries()
            while any(e.get("status") != status for e in found.values()):
                assert time.monotonic() < deadline, {k: e.get("status") for k, e in found.items()}
                time.sleep(0.3)
                found = entries()
            return found

        wait_for("FAILED")
        os.environ["CONVEYOR_ROUTES"] = json.dumps([{"match": "*", "transform": "copy"}])
        result = CliRunner().invoke(
            app,
            ["resubmit", "--failed", "--all", "--yes", "--reroute", "--array-threshold", "2"],
            env={"COLUMNS": "200"},
        )
        assert result.exit_code == 0, result.output
        done = wait_for("SUCCEEDED")

        parents = {e["job_id"].rpartition(":")[0] for e in done.values()}
        assert len(parents) == 1
        [parent] = parents
        [described] = running.executor.describe_jobs(jobs=[parent])["jobs"]
        assert described["arrayProperties"]["size"] == 3
        _, records = manifest.read_all(s3, described["parameters"]["manifest"])
        for key, entry in done.items():
            index = int(entry["job_id"].rpartition(":")[2])
            assert (records[index]["key"], records[index]["version_id"]) == (key, versions[key])
            assert entry["version_id"] == versions[key]
            output = s3.get_object(Bucket=settings["CONVEYOR_OUTPUT_BUCKET"], Key=key)
            assert output["Body"].read() == bodies[key]
        assert "Versions" not in s3.list_object_versions(Bucket=staging, Prefix="bulk/")
    finally:
        running.stop()
        os.environ.clear()
        os.environ.update(environ)
