"""Feeds the staging queue to the trigger handler, as Lambda's SQS event source mapping does:
batches of up to 10, messages deleted unless the handler reported them in batchItemFailures."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

RETRY_AFTER = 5
"""Seconds before a failed message is delivered again (the queue's own timeout is minutes)."""

Handler = Callable[[dict[str, Any]], dict[str, Any]]


class QueuePoller:
    def __init__(
        self, sqs: Any, queue_url: str, handler: Handler, region: str = "us-east-1"
    ) -> None:
        self._sqs = sqs
        self._url = queue_url
        self._handler = handler
        self._region = region
        self._arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]

    def poll(self, wait_seconds: int = 1) -> int:
        """One receive and one handler call; returns how many messages were received."""
        messages = self._sqs.receive_message(
            QueueUrl=self._url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        try:
            response = self._handler(self._event(messages))
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        except Exception:
            logger.exception("trigger handler failed on a batch of %d", len(messages))
            failed = {m["MessageId"] for m in messages}
        for message in messages:
            if message["MessageId"] in failed:
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

    def _event(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m.get("Attributes", {}),
                    "messageAttributes": {},
                    "md5OfBody": m["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self._arn,
                    "awsRegion": self._region,
                }
                for m in messages
            ]
        }
