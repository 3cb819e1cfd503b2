"""The completion handler (and reconcile) put one "Object Processed" / "Object Failed" event per
job's end on moto's EventBridge, which the stack's rule copies to its log group; reconcile puts
the events of recent ends whose every PutEvents failed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner

from completion_lambda import handler as completion_handler
from conveyor.announce import ANNOUNCE_WINDOW
from conveyor.aws import client
from conveyor.clock import utcnow
from conveyor.events import outcome
from conveyor.events.publisher import Publisher, PublishFailed
from conveyor.ledger.store import Ledger
from conveyor.reconcile import reconcile
from conveyor_cli.events import conveyor_events, logged, newest
from conveyor_local.provision import provision_events
from tests.conftest import Stack
from tests.integration.helpers import state_change
from tests.integration.test_completion import item, submitted_job
from tests.integration.test_trigger import COPY_EVERYTHING
from trigger_lambda import handler as trigger_handler


@pytest.fixture
def group(stack: Stack) -> str:
    """The stack's events rule and log group, as `conveyor local provision` makes them."""
    name = stack.staging.removesuffix("-staging")
    created = provision_events(events=client("events"), logs=client("logs"), name=name)
    return created["CONVEYOR_EVENTS_LOG_GROUP"]


@pytest.fixture
def complete(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("CONVEYOR_ROUTES", COPY_EVERYTHING)
    caches = (trigger_handler.trigger, completion_handler.ledger, completion_handler.publisher)
    for cached in caches:
        cached.cache_clear()
    yield completion_handler.handler
    for cached in caches:  # as built before the test, which may replace `publisher`
        cached.cache_clear()


def delivered(group: str) -> list[dict[str, Any]]:
    return newest(conveyor_events(logged(client("logs"), group, None)), 100)


def succeeded(job: dict[str, Any]) -> dict[str, Any]:
    return state_change(
        job,
        "SUCCEEDED",
        attempts=[{"container": {"exitCode": 0}}],
        container={"exitCode": 0},
        startedAt=job["createdAt"] + 1000,
        stoppedAt=job["createdAt"] + 9000,
    )


def test_one_event_for_a_success_however_often_its_end_arrives(
    stack: Stack, complete: Any, group: str
) -> None:
    job = submitted_job(stack, "videos/cat.mov")
    ledger = Ledger(client("dynamodb"), stack.settings["CONVEYOR_LEDGER_TABLE"])
    key = {"pk": item(stack, "videos/cat.mov")["pk"], "sk": item(stack, "videos/cat.mov")["sk"]}
    outputs = [{"bucket": "out", "key": "videos/cat.mov.hls/master.m3u8", "role": "master"}]
    ledger.annotate(key, {"outputs": outputs, "probe": {"video_codec": "h264"}})
    for event in (state_change(job, "RUNNING"), succeeded(job), succeeded(job)):
        complete(event, None)
    [event] = delivered(group)
    assert (event["source"], event["detail-type"]) == ("conveyor", "Object Processed")
    detail = event["detail"]
    stored = item(stack, "videos/cat.mov")
    assert {k: detail[k] for k in ("bucket", "key", "status", "job_id", "transform")} == {
        "bucket": stack.staging,
        "key": "videos/cat.mov",
        "status": "SUCCEEDED",
        "job_id": job["jobId"],
        "transform": "copy",
    }
    assert (detail["version_id"], detail["etag"], detail["size"]) == (
        stored["version_id"],
        stored["etag"],
        4,
    )
    assert detail["outputs"] == outputs and detail["probe"] == {"video_codec": "h264"}
    assert detail["at"] == stored["updated_at"] and detail["reason"] is None
    assert stored[outcome.MARK] == f"SUCCEEDED {job['jobId']}"


def test_one_event_for_a_failure_with_its_reason(stack: Stack, complete: Any, group: str) -> None:
    job = submitted_job(stack, "bad.mov")
    ledger = Ledger(client("dynamodb"), stack.settings["CONVEYOR_LEDGER_TABLE"])
    found = item(stack, "bad.mov")
    ledger.annotate({"pk": found["pk"], "sk": found["sk"]}, {"error": "not a video: moov missing"})
    failed = state_change(job, "FAILED", container={"exitCode": 65}, statusReason="exited")
    complete(failed, None)
    complete(failed, None)
    [event] = delivered(group)
    assert event["detail-type"] == "Object Failed"
    assert event["detail"]["status"] == "FAILED"
    assert event["detail"]["reason"] == "not a video: moov missing"
    assert event["detail"]["outputs"] == [] and event["detail"]["output"] is None


class RefusingOnce:
    """EventBridge answering the first PutEvents with a failed entry, then passing through."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls = 0

    def put_events(self, **request: Any) -> dict[str, Any]:
        self.calls += 1
        if self.calls == 1:
            return {
                "FailedEntryCount": 1,
                "Entries": [{"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"}],
            }
        return self.real.put_events(**request)


def test_a_refused_put_fails_the_invocation_and_its_retry_publishes(
    stack: Stack, complete: Any, group: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = submitted_job(stack, "flaky.mov")
    events = RefusingOnce(client("events"))
    monkeypatch.setattr(completion_handler, "publisher", lambda: Publisher(events))
    with pytest.raises(PublishFailed, match="ThrottlingException"):
        complete(succeeded(job), None)
    assert item(stack, "flaky.mov")["status"] == "SUCCEEDED"  # recorded, not yet announced
    assert delivered(group) == []
    assert complete(succeeded(job), None)["result"] == "stale"  # Lambda's retry
    [event] = delivered(group)
    assert event["detail"]["job_id"] == job["jobId"]
    complete(succeeded(job), None)  # and the next duplicate puts nothing
    assert len(delivered(group)) == 1 and events.calls == 2


class Forgetful:
    """A Batch that knows no job: reconcile ends the entry FAILED, "job lost"."""

    def describe_jobs(self, *, jobs: list[str]) -> dict[str, Any]:
        return {"jobs": []}


def test_reconcile_announces_what_it_ends(stack: Stack, complete: Any, group: str) -> None:
    submitted_job(stack, "lost.mov")
    ledger = Ledger(client("dynamodb"), stack.settings["CONVEYOR_LEDGER_TABLE"])
    publisher = Publisher(client("events"))
    later = utcnow() + timedelta(minutes=1)
    rows = reconcile(ledger, Forgetful(), older_than=timedelta(0), now=later, publisher=publisher)
    assert [r["action"] for r in rows if r["key"] == "lost.mov"] == ["updated"]
    [event] = delivered(group)
    assert event["detail-type"] == "Object Failed"
    assert (event["detail"]["key"], event["detail"]["reason"]) == ("lost.mov", "job lost")
    reconcile(ledger, Forgetful(), older_than=timedelta(0), now=later, publisher=publisher)
    assert len(delivered(group)) == 1


class Unreachable:
    """EventBridge failing every PutEvents: the completion's every retry fails to announce."""

    def put_events(self, **request: Any) -> dict[str, Any]:
        error = {"Error": {"Code": "InternalException", "Message": "try again"}}
        raise ClientError(error, "PutEvents")


def reconcile_cli(*args: str) -> Any:
    from conveyor_cli.main import app

    result = CliRunner().invoke(app, ["reconcile", *args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout) if "--json" in args else result.stdout


def test_reconcile_announces_an_end_whose_every_put_failed(
    stack: Stack, complete: Any, group: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    marked_job = submitted_job(stack, "marked.mov")
    complete(succeeded(marked_job), None)
    marked = item(stack, "marked.mov")
    assert marked[outcome.MARK] == f"SUCCEEDED {marked_job['jobId']}"
    job = submitted_job(stack, "dropped.mov")
    monkeypatch.setattr(completion_handler, "publisher", lambda: Publisher(Unreachable()))
    for _ in range(3):  # the first attempt and Lambda's two retries
        with pytest.raises(ClientError, match="InternalException"):
            complete(succeeded(job), None)
    dropped = item(stack, "dropped.mov")
    assert dropped["status"] == "SUCCEEDED" and outcome.MARK not in dropped
    assert len(delivered(group)) == 1  # marked.mov's only

    ledger = Ledger(client("dynamodb"), stack.settings["CONVEYOR_LEDGER_TABLE"])
    publisher = Publisher(client("events"))
    # Too young (its completion may still be retrying), then too old: neither is announced.
    assert reconcile(ledger, Forgetful(), publisher=publisher) == []
    day_after = utcnow() + ANNOUNCE_WINDOW + timedelta(hours=1)
    assert reconcile(ledger, Forgetful(), now=day_after, publisher=publisher) == []

    [preview] = reconcile_cli("--older-than", "0s", "--dry-run", "--json")
    assert (preview["key"], preview["action"], preview["job_id"]) == (
        "dropped.mov",
        "would announce",
        job["jobId"],
    )
    assert (preview["ledger_status"], preview["new_status"]) == ("SUCCEEDED", None)
    assert len(delivered(group)) == 1

    [row] = reconcile_cli("--older-than", "0s", "--json")
    assert (row["key"], row["action"], row["reason"]) == ("dropped.mov", "announced", "")
    events = delivered(group)
    assert len(events) == 2
    assert [e["detail"]["job_id"] for e in events].count(job["jobId"]) == 1
    [event] = [e for e in events if e["detail"]["key"] == "dropped.mov"]
    assert (event["detail-type"], event["detail"]["at"]) == (
        "Object Processed",
        dropped["updated_at"],
    )
    assert item(stack, "dropped.mov")[outcome.MARK] == f"SUCCEEDED {job['jobId']}"
    assert item(stack, "marked.mov")["revision"] == marked["revision"]  # untouched

    assert "Nothing to do." in reconcile_cli("--older-than", "0s")  # a second run: nothing
    assert len(delivered(group)) == 2


def test_an_end_still_unannounced_is_tried_again_next_run(
    stack: Stack, complete: Any, group: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = submitted_job(stack, "stubborn.mov")
    monkeypatch.setattr(completion_handler, "publisher", lambda: Publisher(Unreachable()))
    with pytest.raises(ClientError):
        complete(succeeded(job), None)
    ledger = Ledger(client("dynamodb"), stack.settings["CONVEYOR_LEDGER_TABLE"])
    later = utcnow() + timedelta(minutes=1)
    args = {"older_than": timedelta(0), "now": later}
    [row] = reconcile(ledger, Forgetful(), publisher=Publisher(Unreachable()), **args)
    assert row["action"] == "announce failed" and "InternalException" in row["reason"]
    assert outcome.MARK not in item(stack, "stubborn.mov")
    [row] = reconcile(ledger, Forgetful(), publisher=Publisher(client("events")), **args)
    assert row["action"] == "announced"
    assert [e["detail"]["job_id"] for e in delivered(group)] == [job["jobId"]]
