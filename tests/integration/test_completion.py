"""The completion handler records real jobs' state changes in the ledger, whatever their order."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from completion_lambda import handler as completion_handler
from conveyor.aws import client
from conveyor.errors import BadEvent
from conveyor.ledger.store import Ledger
from tests.conftest import Stack, load_event
from tests.integration.helpers import fresh_completion_handler, state_change
from tests.integration.test_trigger import COPY_EVERYTHING, deliver, jobs_by_key
from trigger_lambda import handler as trigger_handler


@pytest.fixture
def complete(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("CONVEYOR_ROUTES", COPY_EVERYTHING)
    trigger_handler.trigger.cache_clear()
    fresh_completion_handler()
    yield completion_handler.handler
    trigger_handler.trigger.cache_clear()
    fresh_completion_handler()


def submitted_job(stack: Stack, key: str) -> dict[str, Any]:
    """Upload `key`, let the trigger submit its job, return the job as Batch describes it."""
    stack.s3.put_object(Bucket=stack.staging, Key=key, Body=b"data")
    assert deliver(stack, trigger_handler.handler, stack.receive_all(expected=1)) == []
    [job] = jobs_by_key(stack)[key]
    return job


def item(stack: Stack, key: str) -> dict[str, Any]:
    ledger = Ledger(client("dynamodb"), stack.settings["CONVEYOR_LEDGER_TABLE"])
    [found] = ledger.versions_of(stack.staging, key)
    return found


def test_events_twice_and_out_of_order(stack: Stack, complete: Any) -> None:
    job = submitted_job(stack, "videos/a b.mov")
    succeeded = state_change(
        job,
        "SUCCEEDED",
        attempts=[{"container": {"exitCode": 0, "logStreamName": "worker/default/abc"}}],
        container={"exitCode": 0, "logStreamName": "worker/default/abc"},
        startedAt=job["createdAt"] + 1000,
        stoppedAt=job["createdAt"] + 9000,
        statusReason="Essential container in task exited",
    )
    order = [
        state_change(job, "RUNNABLE"),
        succeeded,
        state_change(job, "RUNNING", startedAt=job["createdAt"] + 1000),
        state_change(job, "RUNNABLE"),
        succeeded,
        state_change(job, "STARTING"),
    ]
    results = [complete(event, None)["result"] for event in order]
    assert results == ["applied", "applied", "stale", "stale", "stale", "stale"]
    final = item(stack, "videos/a b.mov")
    assert final["status"] == "SUCCEEDED"
    assert final["exit_code"] == 0
    assert final["log_stream"] == "worker/default/abc"
    assert final["started_at"] < final["stopped_at"]
    assert [h["status"] for h in final["history"]] == ["SUBMITTED", "RUNNABLE", "SUCCEEDED"]


def test_spot_reclaim_then_bad_input(stack: Stack, complete: Any) -> None:
    job = submitted_job(stack, "clip.mov")
    failed = load_event("batch-job-failed.json")
    failed["detail"].update(
        jobId=job["jobId"],
        jobName=job["jobName"],
        createdAt=job["createdAt"],
        parameters=job["parameters"],
    )
    retrying = copy.deepcopy(failed)
    retrying["detail"].update(status="RUNNABLE", attempts=failed["detail"]["attempts"][:1])
    retrying["detail"].pop("container")
    running_first = copy.deepcopy(retrying)
    running_first["detail"].update(status="RUNNING", attempts=[])

    for event in (running_first, retrying, failed, running_first):
        complete(event, None)
    final = item(stack, "clip.mov")
    assert (final["status"], final["attempt"], final["exit_code"]) == ("FAILED", 2, 65)
    assert final["status_reason"] == "Essential container in task exited"
    assert [(h["status"], h["attempt"]) for h in final["history"]] == [
        ("SUBMITTED", 1),
        ("RUNNING", 1),
        ("RUNNABLE", 2),
        ("FAILED", 2),
    ]


def test_resubmitted_job_wins_over_the_old_one(stack: Stack, complete: Any) -> None:
    old = submitted_job(stack, "retry.mov")
    complete(state_change(old, "FAILED", container={"exitCode": 75}), None)
    new = stack.batch.submit_job(
        jobName="retry-by-hand",
        jobQueue=old["jobQueue"],
        jobDefinition=old["jobDefinition"],
        parameters=old["parameters"],
    )
    [new_job] = stack.batch.describe_jobs(jobs=[new["jobId"]])["jobs"]
    new_job["createdAt"] = old["createdAt"] + 60_000
    assert complete(state_change(new_job, "RUNNING"), None)["result"] == "applied"
    assert complete(state_change(old, "FAILED"), None)["result"] == "stale"
    final = item(stack, "retry.mov")
    assert (final["job_id"], final["status"]) == (new["jobId"], "RUNNING")
    assert "exit_code" not in final


def test_job_submitted_by_hand_is_recorded(stack: Stack, complete: Any) -> None:
    event = load_event("batch-job-succeeded.json")
    event["detail"]["parameters"]["bucket"] = stack.staging
    assert complete(event, None)["result"] == "applied"
    recorded = item(stack, event["detail"]["parameters"]["key"])
    assert recorded["status"] == "SUCCEEDED"
    assert recorded["version_id"] == event["detail"]["parameters"]["version_id"]


def test_job_without_our_parameters_is_ignored(stack: Stack, complete: Any) -> None:
    event = load_event("batch-job-runnable.json")
    event["detail"]["parameters"] = {"something": "else"}
    assert complete(event, None)["result"] == "not ours"


def test_wrong_event_type_is_an_error(stack: Stack, complete: Any) -> None:
    with pytest.raises(BadEvent):
        complete(load_event("s3-object-created.json"), None)
