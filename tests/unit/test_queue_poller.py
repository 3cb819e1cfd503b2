"""The local stack's SQS poller: one message SQS cannot be told about holds up no other."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from conveyor_local.poller import RETRY_AFTER, QueuePoller


def s3_message(n: int) -> dict[str, Any]:
    record = {
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "s3": {
            "bucket": {"name": "staging"},
            "object": {"key": f"k{n}", "size": 1, "eTag": "e", "sequencer": "01"},
        },
    }
    return {
        "MessageId": f"m{n}",
        "ReceiptHandle": f"r{n}",
        "Body": json.dumps({"Records": [record]}),
    }


class FlakySqs:
    """Three messages; telling SQS about the first one fails (after botocore's retries)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def receive_message(self, **request: Any) -> dict[str, Any]:
        self.calls.append(("receive", request))
        return {"Messages": [s3_message(n) for n in range(3)]}

    def delete_message(self, **request: Any) -> None:
        self.calls.append(("delete", request))
        if request["ReceiptHandle"] == "r0":
            raise ClientError({"Error": {"Code": "InternalError"}}, "DeleteMessage")

    def change_message_visibility(self, **request: Any) -> None:
        self.calls.append(("visibility", request))


def test_a_message_sqs_cannot_be_told_about_holds_up_no_other() -> None:
    sqs = FlakySqs()
    handled: list[str] = []

    def handle(message: Any) -> None:
        key = message.versions[0].key
        handled.append(key)
        if key == "k1":
            raise RuntimeError("the trigger failed")

    assert QueuePoller(sqs, "q", handle).poll(wait_seconds=0) == 3

    assert sorted(handled) == ["k0", "k1", "k2"]  # handled several at once, in any order
    told = {(call, request["ReceiptHandle"]) for call, request in sqs.calls[1:]}
    assert told == {("delete", "r0"), ("visibility", "r1"), ("delete", "r2")}
    visibility = [request for call, request in sqs.calls if call == "visibility"]
    assert [request["VisibilityTimeout"] for request in visibility] == [RETRY_AFTER]
