"""Array jobs' state changes: a child names its index (its version is in the manifest), the
parent names its size and no version; the completion runtime records children only."""

from __future__ import annotations

from typing import Any

import pytest

from completion_lambda.arrays import resolve_child
from completion_lambda.record import Recorded, record
from conveyor.events.batch import parse_job_state_change
from conveyor.jobs import JobSpec, array_parameters
from conveyor.manifest import ManifestError
from conveyor.objects import ObjectVersion

MANIFEST = "s3://archive/.conveyor/manifests/b1.jsonl"
SPEC = JobSpec(ObjectVersion("staging", "in/a.txt", "e1", 3, "v1"), "gzip")


def event(job_id: str, array: dict[str, Any]) -> dict[str, Any]:
    return {
        "detail-type": "Batch Job State Change",
        "source": "aws.batch",
        "detail": {
            "jobId": job_id,
            "jobName": "conveyor-bulk-b1",
            "status": "RUNNING",
            "parameters": array_parameters(MANIFEST),
            "arrayProperties": array,
        },
    }


class Manifests:
    def __init__(self, records: list[dict[str, str]]) -> None:
        self.records = records
        self.asked: list[tuple[str, int]] = []

    def record(self, uri: str, index: int) -> dict[str, str]:
        self.asked.append((uri, index))
        if index >= len(self.records):
            raise ManifestError("out of range")
        return self.records[index]


def test_a_child_names_its_index_and_the_parent_its_size() -> None:
    child = parse_job_state_change(event("p:1", {"index": 1}))
    assert (child.array_index, child.array_size, child.manifest) == (1, None, MANIFEST)
    assert not child.is_array_parent
    parent = parse_job_state_change(event("p", {"size": 2, "statusSummary": {}}))
    assert (parent.array_index, parent.array_size, parent.is_array_parent) == (None, 2, True)
    plain = parse_job_state_change(
        {**event("j", {}), "detail": {"jobId": "j", "status": "RUNNING"}}
    )
    assert (plain.array_index, plain.manifest, plain.is_array_parent) == (None, None, False)


def test_a_child_is_resolved_from_its_record_and_a_parent_is_not_recorded() -> None:
    manifests = Manifests([{}, SPEC.parameters()])
    child = parse_job_state_change(event("p:1", {"index": 1}))
    resolved = resolve_child(child, manifests)  # type: ignore[arg-type]
    assert resolved.parameters == SPEC.parameters() and resolved.job_id == "p:1"
    assert manifests.asked == [(MANIFEST, 1)]
    parent = parse_job_state_change(event("p", {"size": 2}))
    assert record(None, parent, manifests) is Recorded.ARRAY_PARENT  # type: ignore[arg-type]
    with pytest.raises(ManifestError):  # the event is retried, not dropped
        record(None, parse_job_state_change(event("p:5", {"index": 5})), manifests)  # type: ignore[arg-type]
