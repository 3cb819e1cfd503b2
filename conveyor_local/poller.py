"""Feeds the staging queue to the trigger service, as Lambda's SQS event source mapping feeds the
handler: batches of up to 10, each message deleted once handled, a failed one made visible again
soon (its partial batch failure) and, after the queue's receive count, moved to the DLQ."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from conveyor.events.s3 import parse_body

logger = logging.getLogger(__name__)

RETRY_AFTER = 5
"""Seconds before a failed message is delivered again (the queue's own timeout is minutes)."""

Handle = Callable[[Any], object]
"""What takes one parsed message: the trigger service's `handle_message`."""


class QueuePoller:
    def __init__(self, sqs: Any, queue_url: str, handle: Handle) -> None:
        self._sqs = sqs
        self._url = queue_url
        self._handle = handle

    def poll(self, wait_seconds: int = 1) -> int:
        """One receive, each message handled on its own; returns how many were received."""
        messages = self._sqs.receive_message(
            QueueUrl=self._url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait_seconds,
        ).get("Messages", [])
        for message in messages:
            try:
                self._handle(parse_body(message["Body"]))
            except Exception:
                logger.exception("message %s failed; retried soon", message["MessageId"])
                self._sqs.change_message_visibility(
                    QueueUrl=self._url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=RETRY_AFTER,
                )
            else:
                self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages)

    def drain(self) -> int:
        """Drop what is queued before the stack serves (the s3:TestEvent of provisioning)."""
        dropped = 0
        while messages := self._sqs.receive_message(
            QueueUrl=self._url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", []):
            for message in messages:
                self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])
            dropped += len(messages)
        return dropped
