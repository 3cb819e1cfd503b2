"""Feeds the staging queue to the trigger service, as Lambda's SQS event source mapping feeds the
handler: batches of up to 10, each message deleted once handled, a failed one made visible again
soon (its partial batch failure) and, after the queue's receive count, moved to the DLQ."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from conveyor.events.s3 import parse_body

logger = logging.getLogger(__name__)

RETRY_AFTER = 5
"""Seconds before a failed message is delivered again (the queue's own timeout is minutes)."""
HIDDEN_FOR = 10
"""Seconds a received message stays hidden (ReceiveMessage's VisibilityTimeout), instead of the
queue's 180: a receive whose answer was lost on the way back hid its messages from everyone, and
they come back only then. The poller handles a batch before it receives again, so a message that
reappears while still being handled is not received twice at once."""

CONCURRENCY = 5
"""Messages of one batch handled at once: Lambda's SQS event source starts five concurrent
invocations, so a burst of uploads is submitted several at a time, not one after another."""
BATCH = 10
"""ReceiveMessage's most messages a call; a full batch means more are probably waiting."""

Handle = Callable[[Any], object]
"""What takes one parsed message: the trigger service's `handle_message`."""


class QueuePoller:
    def __init__(
        self, sqs: Any, queue_url: str, handle: Handle, concurrency: int = CONCURRENCY
    ) -> None:
        self._sqs = sqs
        self._url = queue_url
        self._handle = handle
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="trigger")

    def poll(self, wait_seconds: int = 1) -> int:
        """One receive, its messages handled each on its own and several at once; returns how
        many were received once all are settled."""
        messages = self._sqs.receive_message(
            QueueUrl=self._url,
            MaxNumberOfMessages=BATCH,
            WaitTimeSeconds=wait_seconds,
            VisibilityTimeout=HIDDEN_FOR,
        ).get("Messages", [])
        list(self._pool.map(self._one, messages))
        return len(messages)

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def _one(self, message: dict[str, Any]) -> None:
        try:
            self._handle(parse_body(message["Body"]))
        except Exception:
            logger.exception("message %s failed; retried soon", message["MessageId"])
            self._settle(message, RETRY_AFTER)
        else:
            self._settle(message, None)

    def drain(self) -> int:
        """Drop what is queued before the stack serves (the s3:TestEvent of provisioning)."""
        dropped = 0
        while messages := self._sqs.receive_message(
            QueueUrl=self._url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", []):
            for message in messages:
                self._settle(message, None)
            dropped += len(messages)
        return dropped

    def _settle(self, message: dict[str, Any], retry_after: int | None) -> None:
        """Delete a message (`retry_after` None), or show it again in `retry_after` seconds.

        When SQS cannot be told even after botocore's retries, the message reappears by itself
        after HIDDEN_FOR and is handled again (the trigger knows a duplicate): the batch's other
        messages go on, rather than waiting for the visibility timeout with it."""
        receipt = {"QueueUrl": self._url, "ReceiptHandle": message["ReceiptHandle"]}
        try:
            if retry_after is None:
                self._sqs.delete_message(**receipt)
            else:
                self._sqs.change_message_visibility(**receipt, VisibilityTimeout=retry_after)
        except (ClientError, BotoCoreError) as err:
            logger.warning(
                "message %s: SQS not told (%s); it comes back", message["MessageId"], err
            )
