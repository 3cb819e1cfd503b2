"""What Batch says of a job means for a ledger entry whose events went missing: pure rules."""

from __future__ import annotations

from typing import Any

from conveyor.events.batch import parse_job_state_change
from conveyor.ledger import transitions
from conveyor.reconcile import JOB_LOST, change_for, describe, due, judge
from conveyor_cli.reconcile import is_local_stack
from tests.conftest import load_event

EARLIER = "2026-11-26T12:00:00.000Z"
NOW = "2026-11-26T13:00:00.000Z"


def job(status: str = "SUCCEEDED") -> dict[str, Any]:
    """A job as DescribeJobs describes it: the same shape as an event's detail."""
    detail = load_event("batch-job-succeeded.json")["detail"]
    if status != "SUCCEEDED":
        detail.update(status=status, attempts=[])
        for name in ("container", "statusReason", "stoppedAt"):
            detail.pop(name)
    return detail


def entry(status: str = "RUNNING") -> dict[str, Any]:
    """The ledger entry of `job()` after its `status` event, recorded an hour ago."""
    event = {**load_event("batch-job-succeeded.json"), "detail": job(status)}
    item = transitions.apply(None, parse_job_state_change(event), EARLIER)
    assert item is not None
    return item


def test_only_entries_with_a_job_unchanged_since_the_cutoff_are_due() -> None:
    item = entry()
    assert due(item, NOW)
    assert not due(item, EARLIER)  # changed exactly at the cutoff: not older than it
    assert not due({**item, "updated_at": NOW}, EARLIER)
    assert not due({k: v for k, v in item.items() if k != "job_id"}, NOW)


def test_batch_says_succeeded_through_the_events_rules() -> None:
    verdict = judge(entry(), job("SUCCEEDED"), NOW)
    assert verdict.batch_status == "SUCCEEDED"
    assert verdict.becomes is not None
    assert verdict.becomes["status"] == "SUCCEEDED"
    assert verdict.becomes["exit_code"] == 0
    assert verdict.becomes["log_stream"].startswith("conveyor-worker/default/")
    assert verdict.becomes["history"][-1]["status"] == "SUCCEEDED"


def test_batch_agreeing_changes_nothing() -> None:
    assert judge(entry("RUNNING"), job("RUNNING"), NOW).becomes is None
    assert judge(entry("RUNNING"), job("RUNNABLE"), NOW).becomes is None  # never backwards


def test_a_job_batch_does_not_know_is_failed_job_lost() -> None:
    item = entry("RUNNING")
    verdict = judge(item, None, NOW)
    assert verdict.batch_status is None
    assert verdict.change.job_id == item["job_id"]
    assert verdict.change.attempt == item["attempt"]
    assert verdict.becomes is not None
    assert (verdict.becomes["status"], verdict.becomes["status_reason"]) == ("FAILED", JOB_LOST)
    assert verdict.becomes["pk"] == item["pk"] and verdict.becomes["sk"] == item["sk"]
    assert judge(verdict.becomes, None, NOW).becomes is None  # the second run changes nothing


def test_the_answer_lands_on_the_entry_that_asked() -> None:
    item = entry()
    other = job("SUCCEEDED")
    other["parameters"] = {**other["parameters"], "key": "someone/else.mov", "version_id": "x"}
    change = change_for(item, other)
    assert (change.bucket, change.key) == (item["bucket"], item["object_key"])
    assert change.parameters["version_id"] == item["version_id"]
    assert change.parameters["transform"] == "h264-720p"  # the rest of Batch's answer is kept


def test_describe_asks_100_ids_a_call_and_leaves_unknown_jobs_out() -> None:
    calls: list[list[str]] = []

    class Batch:
        def describe_jobs(self, *, jobs: list[str]) -> dict[str, Any]:
            calls.append(jobs)
            return {"jobs": [{"jobId": j, "status": "RUNNING"} for j in jobs if j != "j7"]}

    ids = [f"j{i}" for i in range(250)]
    found = describe(Batch(), ids)
    assert [len(c) for c in calls] == [100, 100, 50]
    assert set(found) == set(ids) - {"j7"}
    assert describe(Batch(), []) == {} and len(calls) == 3


def test_the_cli_recognises_the_local_stack_by_its_endpoint() -> None:
    running = {"pid": 1, "endpoint": "http://127.0.0.1:4566"}
    assert is_local_stack({"AWS_ENDPOINT_URL": "http://127.0.0.1:4566/"}, running)
    assert is_local_stack({"AWS_ENDPOINT_URL_BATCH": "http://127.0.0.1:4566"}, running)
    assert not is_local_stack({"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"}, running)
    assert not is_local_stack({}, running)  # real AWS
    assert not is_local_stack({"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}, None)


def test_silence_from_batch_in_the_wrong_place_fails_nothing() -> None:
    from conveyor.reconcile import wrong_place

    queue = "arn:aws:batch:eu-west-1:123456789012:job-queue/conveyor"
    entries = [{"job_id": f"j{n}", "job_queue": queue} for n in range(3)]
    asked = [e["job_id"] for e in entries]
    assert "eu-west-1" in (wrong_place(asked, {}, entries, "us-east-1") or "")
    assert "knows none of the 3 recent jobs" in (wrong_place(asked, {}, entries, "eu-west-1") or "")
    assert wrong_place([], {}, entries, "eu-west-1") is None  # only jobs Batch forgot: lost
    assert wrong_place(asked, {"j0": {}}, entries, "eu-west-1") is None  # two are really lost
    assert wrong_place(asked[:1], {}, entries[:1], "eu-west-1") is None  # one lost job is lost
