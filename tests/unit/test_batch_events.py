import pytest

from conveyor.errors import BadEvent
from conveyor.events.batch import parse_job_state_change
from conveyor.status import Status
from tests.conftest import load_event


def test_runnable() -> None:
    change = parse_job_state_change(load_event("batch-job-runnable.json"))
    assert change.status is Status.RUNNABLE
    assert change.attempt == 1
    assert change.job_id == "4c7599ae-0a82-49aa-ba5a-4727fcce14a8"
    assert change.key == "videos/My Holiday (2026) ü.mov"
    assert change.exit_code is None


def test_failed_after_spot_reclaim() -> None:
    change = parse_job_state_change(load_event("batch-job-failed.json"))
    assert change.status is Status.FAILED
    assert change.attempt == 2
    assert change.exit_code == 65
    assert change.log_stream.endswith("6d6f3d7c1d3f4a6e9a2f6b6c0e8f2a11")
    assert change.status_reason == "Essential container in task exited"
    assert change.created_at == 1795694401000


def test_retry_runnable_is_the_second_attempt() -> None:
    event = load_event("batch-job-failed.json")
    event["detail"].update(status="RUNNABLE", attempts=event["detail"]["attempts"][:1])
    event["detail"].pop("container")
    change = parse_job_state_change(event)
    assert change.attempt == 2 and change.exit_code is None


def test_unknown_fields_are_ignored() -> None:
    event = load_event("batch-job-succeeded.json")
    event["detail"]["somethingNew"] = {"a": 1}
    event["newTopLevel"] = True
    assert parse_job_state_change(event).status is Status.SUCCEEDED


@pytest.mark.parametrize(
    "mutate",
    [
        lambda e: e.update({"detail-type": "Something Else"}),
        lambda e: e.update(source="aws.s3"),
        lambda e: e.pop("detail"),
        lambda e: e["detail"].update(status="EXPLODED"),
        lambda e: e["detail"].pop("jobId"),
    ],
)
def test_not_a_job_state_change(mutate) -> None:
    event = load_event("batch-job-runnable.json")
    mutate(event)
    with pytest.raises(BadEvent):
        parse_job_state_change(event)
