"""The ledger's pure rules: events late, twice, out of order never move a version backwards."""

from __future__ import annotations

from conveyor.events.batch import JobStateChange
from conveyor.ledger.transitions import apply, next_status, own_write
from conveyor.status import Status

PARAMS = {"bucket": "b", "key": "k", "version_id": "v1", "etag": "e", "transform": "copy"}


def change(status: Status, job: str = "job-1", attempt: int = 1, created: int = 1000, **kw):
    return JobStateChange(
        job_id=job, status=status, parameters=PARAMS, attempt=attempt, created_at=created, **kw
    )


def run(*changes: JobStateChange) -> dict:
    item = None
    for n, c in enumerate(changes):
        item = apply(item, c, f"2026-01-01T00:00:{n:02d}.000Z") or item
    return item


def test_in_order() -> None:
    item = run(*(change(s) for s in (Status.SUBMITTED, Status.RUNNABLE, Status.RUNNING)))
    item = apply(item, change(Status.SUCCEEDED, exit_code=0), "t")
    assert item["status"] == "SUCCEEDED" and item["exit_code"] == 0
    assert [h["status"] for h in item["history"]] == [
        "SUBMITTED",
        "RUNNABLE",
        "RUNNING",
        "SUCCEEDED",
    ]
    assert item["pk"] == "b/k" and item["sk"] == "v#v1" and item["revision"] == 4


def test_duplicates_and_late_events_change_nothing() -> None:
    item = run(change(Status.RUNNING), change(Status.SUCCEEDED))
    assert apply(item, change(Status.SUCCEEDED), "t") is None
    assert apply(item, change(Status.RUNNING), "t") is None
    assert apply(item, change(Status.RUNNABLE), "t") is None
    assert apply(item, change(Status.SUBMITTED), "t") is None


def test_out_of_order_arrival_ends_in_the_same_state() -> None:
    item = run(change(Status.SUCCEEDED), change(Status.RUNNABLE), change(Status.RUNNING))
    assert item["status"] == "SUCCEEDED" and len(item["history"]) == 1


def test_retry_after_spot_reclaim_moves_on() -> None:
    item = run(change(Status.RUNNING, attempt=1))
    item = apply(item, change(Status.RUNNABLE, attempt=2, status_reason="Host EC2"), "t")
    assert item["status"] == "RUNNABLE" and item["attempt"] == 2
    # The first attempt's late RUNNING does not pull the version back.
    assert apply(item, change(Status.RUNNING, attempt=1), "t") is None


def test_terminal_is_final_for_a_job() -> None:
    item = run(change(Status.FAILED, attempt=1, exit_code=65))
    assert apply(item, change(Status.RUNNABLE, attempt=2), "t") is None


def test_newer_job_wins_and_older_job_is_ignored() -> None:
    item = run(change(Status.FAILED, job="old", created=1000, exit_code=65, log_stream="s1"))
    item = apply(item, change(Status.SUBMITTED, job="new", created=2000), "t")
    assert item["job_id"] == "new" and item["status"] == "SUBMITTED"
    assert "exit_code" not in item and "log_stream" not in item  # the old job's facts are gone
    assert apply(item, change(Status.FAILED, job="old", created=1000), "t") is None
    assert [h["job_id"] for h in item["history"]] == ["old", "new"]


def test_trigger_clock_versus_batch_created_at() -> None:
    # The trigger records SUBMITTED with its own clock, a little after Batch's createdAt.
    item = run(change(Status.SUBMITTED, created=1500))
    item = apply(item, change(Status.PENDING, created=1400), "t")
    assert item["status"] == "PENDING" and item["job_created_at"] == 1400


def test_skipped_then_a_job() -> None:
    skipped = {"pk": "b/k", "sk": "v#v1", "status": "SKIPPED", "revision": 1}
    item = apply(skipped, change(Status.SUBMITTED), "t")
    assert item["status"] == "SUBMITTED" and item["revision"] == 2


def test_superseded_is_kept_when_batch_says_succeeded() -> None:
    item = run(change(Status.RUNNING), change(Status.SUPERSEDED))
    item = apply(item, change(Status.SUCCEEDED, exit_code=0, stopped_at=5000), "t")
    assert item["status"] == "SUPERSEDED" and item["exit_code"] == 0
    assert apply(item, change(Status.SUCCEEDED, exit_code=0, stopped_at=5000), "t") is None
    assert next_status(Status.SUPERSEDED, Status.SUCCEEDED) is Status.SUPERSEDED
    assert next_status(Status.RUNNING, Status.FAILED) is Status.FAILED


def test_claim_fields_are_dropped() -> None:
    claimed = {"pk": "b/k", "sk": "v#v1", "claim_token": "x", "claim_expires": 1, "revision": 0}
    item = apply(claimed, change(Status.SUBMITTED), "t")
    assert "claim_token" not in item and "claim_expires" not in item


def test_unversioned_identity_uses_etag() -> None:
    params = {"bucket": "b", "key": "k", "version_id": "", "etag": '"abc"'}
    c = JobStateChange(job_id="j", status=Status.PENDING, parameters=params)
    item = apply(None, c, "t")
    assert item["sk"] == "e#abc" and "version_id" not in item


def test_a_refused_put_is_ours_only_if_the_item_holds_its_token() -> None:
    stored = {"pk": "b/k", "sk": "v#v1", "write_token": "mine", "claim_token": "c"}
    assert own_write(stored, "mine")
    assert not own_write(stored, "theirs")  # someone else's write: a real conflict
    assert not own_write({"pk": "b/k", "sk": "v#v1"}, "mine")  # written before tokens existed
    assert not own_write(None, "mine")  # nothing there (DynamoDB returned no item)
    assert not own_write({"write_token": ""}, "")
