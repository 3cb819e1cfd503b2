"""The "Object Processed" / "Object Failed" event built from a ledger item: its shape, when it is
due, and a huge outputs list capped to what EventBridge and its targets take."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conveyor.events import outcome
from conveyor.events.publisher import Publisher, PublishFailed
from conveyor.status import Status
from conveyor_cli.events import conveyor_events, newest, row

PROBE = {"container": "mov,mp4", "duration": 20.02, "video_codec": "h264", "width": 1920}


def item(**extra: Any) -> dict[str, Any]:
    return {
        "pk": "b#k",
        "bucket": "stage",
        "object_key": "videos/cat.mov",
        "version_id": "v1",
        "etag": "abc",
        "size": 1234,
        "status": "SUCCEEDED",
        "job_id": "job-1",
        "attempt": 1,
        "transform": "hls",
        "updated_at": "2026-05-01T12:00:00.000Z",
        "output": {"bucket": "out", "key": "videos/cat.mov.hls/master.m3u8"},
        "archive": {"bucket": "arch", "key": "videos/cat.mov", "version_id": "a1"},
        "probe": PROBE,
        "outputs": [{"bucket": "out", "key": "videos/cat.mov.hls/master.m3u8", "role": "master"}],
        **extra,
    }


def test_detail_carries_the_contracts_fields() -> None:
    body = outcome.detail(item(), "")
    assert body == {
        "bucket": "stage",
        "key": "videos/cat.mov",
        "version_id": "v1",
        "etag": "abc",
        "size": 1234,
        "status": "SUCCEEDED",
        "job_id": "job-1",
        "attempt": 1,
        "transform": "hls",
        "reason": None,
        "outputs": [{"bucket": "out", "key": "videos/cat.mov.hls/master.m3u8", "role": "master"}],
        "outputs_total": 1,
        "outputs_truncated": False,
        "output": {"bucket": "out", "key": "videos/cat.mov.hls/master.m3u8"},
        "probe": PROBE,
        "archive": {"bucket": "arch", "key": "videos/cat.mov", "version_id": "a1"},
        "at": "2026-05-01T12:00:00.000Z",
    }
    request = outcome.entry(body, "default")
    assert (request["Source"], request["DetailType"]) == ("conveyor", "Object Processed")
    assert json.loads(request["Detail"]) == body


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        ("SUCCEEDED", "Object Processed"),
        ("SUPERSEDED", "Object Processed"),
        ("FAILED", "Object Failed"),
    ],
)
def test_detail_type_by_status(status: str, kind: str) -> None:
    request = outcome.entry(outcome.detail(item(status=status), "why"), "default")
    assert request["DetailType"] == kind


def test_a_huge_outputs_list_is_capped_and_says_so() -> None:
    outputs = [
        {"bucket": "out", "key": f"videos/cat.mov.hls/r/sprite-{i:06d}.jpg", "role": "sprite"}
        for i in range(20_000)
    ]
    body = outcome.detail(item(outputs=outputs), "")
    request = outcome.entry(body, "default")
    assert outcome.encoded_size(body) <= outcome.DETAIL_LIMIT  # room left for the envelope
    assert outcome.entry_size(request) <= outcome.ENTRY_LIMIT
    assert outcome.encoded_size(body) > outcome.DETAIL_LIMIT - 200  # as many as fit, not fewer
    assert body["outputs_truncated"] is True and body["outputs_total"] == 20_000
    assert body["outputs"] == outputs[: len(body["outputs"])]


def test_a_long_reason_is_cut() -> None:
    body = outcome.detail(item(status="FAILED"), "x" * 100_000)
    assert len(body["reason"]) == outcome.REASON_LIMIT


def test_due_only_for_the_named_jobs_unannounced_end() -> None:
    done = item()
    assert outcome.due(done, "job-1")
    assert not outcome.due(done, "job-0")  # a newer job holds the version
    assert not outcome.due(item(status="RUNNING"), "job-1")
    assert not outcome.due({**done, outcome.MARK: outcome.mark(done)}, "job-1")
    failed_before = {**done, outcome.MARK: "FAILED job-0"}
    assert outcome.due(failed_before, "job-1")  # the resubmission's end is its own event


class Refusing:
    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "FailedEntryCount": 1,
            "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}],
        }


def test_a_refused_entry_raises() -> None:
    with pytest.raises(PublishFailed, match="InternalFailure: try again"):
        Publisher(Refusing()).publish(outcome.detail(item(), ""))


def delivered(status: str, key: str, at: str) -> str:
    body = outcome.detail(item(status=status, object_key=key, updated_at=at), "bad input")
    kind = outcome.detail_type(Status(status))
    return json.dumps({"source": "conveyor", "detail-type": kind, "time": at, "detail": body})


def test_the_cli_lists_conveyors_events_newest_first() -> None:
    messages = [
        delivered("SUCCEEDED", "a/1.mov", "2026-05-01T12:00:01.000Z"),
        "not json",
        json.dumps({"source": "aws.batch", "detail-type": "Batch Job State Change", "detail": {}}),
        delivered("FAILED", "b/2.mov", "2026-05-01T12:00:03.000Z"),
        delivered("SUCCEEDED", "a/3.mov", "2026-05-01T12:00:02.000Z"),
    ]
    found = newest(conveyor_events(messages), 10)
    assert [e["detail"]["key"] for e in found] == ["b/2.mov", "a/3.mov", "a/1.mov"]
    assert [e["detail"]["key"] for e in newest(conveyor_events(messages, "a/"), 1)] == ["a/3.mov"]
    assert row(found[0])["result"] == "bad input"
    assert row(found[1])["result"] == "1 output"
