"""Putting one Conveyor event on an EventBridge bus; a refused entry is an error, so the caller
(the completion Lambda) fails and is retried rather than losing the event."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from conveyor import settings
from conveyor.errors import ConveyorError
from conveyor.events import outcome

logger = logging.getLogger(__name__)


class PublishFailed(ConveyorError):
    """EventBridge refused the entry (FailedEntryCount > 0): retrying may succeed."""


class Publisher:
    """An EventBridge client and the bus its events go to."""

    def __init__(self, client: Any, bus: str = settings.DEFAULT_EVENT_BUS) -> None:
        self._client = client
        self.bus = bus

    @classmethod
    def from_settings(cls, client: Any, environ: Mapping[str, str] | None = None) -> Publisher:
        """The bus `CONVEYOR_EVENT_BUS` names, else the account's default bus."""
        return cls(
            client, settings.optional(settings.EVENT_BUS, environ) or settings.DEFAULT_EVENT_BUS
        )

    def publish(self, body: Mapping[str, Any]) -> str:
        """Put the event with detail `body`; its event id. PublishFailed when refused."""
        request = outcome.entry(body, self.bus)
        answer = self._client.put_events(Entries=[request])
        [result] = answer.get("Entries") or [{}]
        if answer.get("FailedEntryCount", 0) or "EventId" not in result:
            raise PublishFailed(
                f"EventBridge refused the {request['DetailType']!r} event for "
                f"s3://{body.get('bucket')}/{body.get('key')} (job {body.get('job_id')}): "
                f"{result.get('ErrorCode')}: {result.get('ErrorMessage')}"
            )
        logger.info(
            "%s for s3://%s/%s (job %s): event %s",
            request["DetailType"],
            body.get("bucket"),
            body.get("key"),
            body.get("job_id"),
            result["EventId"],
        )
        return str(result["EventId"])
