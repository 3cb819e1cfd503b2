"""Telling other systems that a version ended: one event per job's end, after the ledger says so.

The one path shared by the completion handler and reconcile. At least once, without doubles in
the normal case: the event is put, then the item is marked (`outcome.MARK`); a retried event whose
ledger write is stale finds the end unmarked and announces it then. A PutEvents that fails raises,
so the caller's retry (Lambda's) comes back here; an end whose retries all failed stays unmarked,
and reconcile finds it (`unannounced`) and comes back here too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from conveyor.events import outcome
from conveyor.events.batch import JobStateChange
from conveyor.events.publisher import Publisher
from conveyor.ledger import transitions
from conveyor.ledger.schema import PARTITION_KEY, SORT_KEY
from conveyor.ledger.store import Ledger
from conveyor.ledger.views import reason
from conveyor.status import TERMINAL

logger = logging.getLogger(__name__)

ANNOUNCE_WINDOW = timedelta(hours=24)
"""How far back reconcile looks for ends never announced: a day of Lambda retries and reconcile
runs; older ends are history, not news."""


def announce(ledger: Ledger, publisher: Publisher, change: JobStateChange) -> bool:
    """Put the event for the end `change` brings (or brought) to its version, unless it was
    already put; True when this call put it. Only a job's end announces: a change of a job in
    flight never reads the item."""
    if change.status not in TERMINAL:
        return False
    params = change.parameters
    key = transitions.identity_fields(
        bucket=params["bucket"],
        key=params["key"],
        version_id=params.get("version_id") or None,
        etag=params.get("etag", ""),
    )
    return announce_end(ledger, publisher, key, change.job_id)


def announce_end(ledger: Ledger, publisher: Publisher, key: Mapping[str, Any], job_id: str) -> bool:
    """Put the event for job `job_id`'s end on the version `key` names (its primary key), unless
    it is not that job's end or was already put; then mark it. True when this call put it.
    The item is read again (consistently): whoever found the end may have read a stale copy."""
    item = ledger.get(key[PARTITION_KEY], key[SORT_KEY])
    if item is None or not outcome.due(item, job_id):
        return False
    publisher.publish(outcome.detail(item, reason(item)))
    if not ledger.mark(key, job_id, item["status"], outcome.MARK, outcome.mark(item)):
        logger.info("job %s: the version moved on before its end was marked", job_id)
    return True


def unannounced(ledger: Ledger, since: str, before: str) -> list[Mapping[str, Any]]:
    """Ends from `since` up to (not including) `before` (ISO times) whose event was never put,
    oldest first, from the status index: every terminal status, `since` bounding each query.
    Ends newer than `before` may still have their completion on its way: not raced."""
    items: Iterable[Mapping[str, Any]] = (
        item for status in TERMINAL for item in ledger.by_status(status, since=since)
    )
    return sorted(
        (
            item
            for item in items
            if str(item.get("updated_at", "")) < before
            and outcome.due(item, str(item.get("job_id") or ""))
        ),
        key=lambda item: str(item["updated_at"]),
    )
