"""The local executor's array bookkeeping: child ids, lazy hand-out, and the parent's status
following its children's as Batch's does."""

from __future__ import annotations

from conveyor_local.arrays import ArrayRun, array_size, split_child_id

PARENT = {
    "jobId": "0f1e2d3c-aaaa-bbbb-cccc-000000000000",
    "jobArn": "arn:aws:batch:us-east-1:123456789012:job/0f1e2d3c-aaaa-bbbb-cccc-000000000000",
    "jobName": "conveyor-bulk-x",
    "arrayProperties": {"size": 3, "statusSummary": {"SUCCEEDED": 3}},
    "parameters": {"manifest": "s3://archive/.conveyor/manifests/x.jsonl"},
}


def test_child_ids_split_into_parent_and_index() -> None:
    assert split_child_id(f"{PARENT['jobId']}:12") == (PARENT["jobId"], 12)
    assert split_child_id(PARENT["jobId"]) is None
    assert split_child_id("a:b") is None
    assert array_size(PARENT) == 3
    assert array_size({"jobId": "x"}) is None


def test_children_are_handed_out_one_index_at_a_time() -> None:
    run = ArrayRun(parent=PARENT, size=3)
    taken = []
    while not run.dispatched:
        taken.append(run.take())
    assert taken == [0, 1, 2]
    child = run.child(1)
    assert child["jobId"] == f"{PARENT['jobId']}:1"
    assert child["jobArn"] == f"{PARENT['jobArn']}:1"
    assert "arrayProperties" not in child  # moto's summary of the parent is no child's
    assert child["parameters"] == PARENT["parameters"]
    assert run.child_state(2).status == "PENDING"  # not started: no state kept


def test_the_parent_runs_with_its_first_child_and_ends_after_its_last() -> None:
    run = ArrayRun(parent=PARENT, size=2)
    assert run.move(0, "RUNNABLE", [], {}) is None
    assert run.move(0, "RUNNING", [], {}) == "RUNNING"
    assert run.move(1, "RUNNING", [], {}) is None
    assert run.move(0, "SUCCEEDED", [{"container": {"exitCode": 0}}], {"exit_code": 0}) is None
    assert run.properties()["statusSummary"]["RUNNING"] == 1
    assert run.move(1, "SUCCEEDED", [], {}) == "SUCCEEDED"
    assert run.properties() == {
        "size": 2,
        "statusSummary": {
            "SUBMITTED": 0,
            "PENDING": 0,
            "RUNNABLE": 0,
            "STARTING": 0,
            "RUNNING": 0,
            "SUCCEEDED": 2,
            "FAILED": 0,
        },
    }
    assert run.child_state(0).detail == {"exit_code": 0}


def test_one_failed_child_fails_the_parent_only_once_all_ended() -> None:
    run = ArrayRun(parent=PARENT, size=3)
    assert run.move(1, "FAILED", [], {}) is None
    assert run.move(0, "SUCCEEDED", [], {}) is None
    assert run.status == "PENDING"
    assert run.move(2, "SUCCEEDED", [], {}) == "FAILED"


def test_a_child_whose_run_broke_off_counts_as_ended_not_succeeded() -> None:
    run = ArrayRun(parent=PARENT, size=2)
    run.move(0, "SUCCEEDED", [], {})
    run.move(1, "RUNNING", [], {})
    assert run.move(1, "RUNNING", [], {}, ended=True) == "FAILED"
