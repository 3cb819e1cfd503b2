"""Telling other systems that a version ended: one event per job's end, after the ledger says so.

The one path shared by the completion handler and reconcile. At least once, without doubles in
the normal case: the event is put, then the item is marked (`outcome.MARK`); a retried event whose
ledger write is stale finds the end unmarked and announces it then. A PutEvents that fails raises,
so the caller's retry (Lambda's) comes back here.
"""

from __future__ import annotations

import logging

from conveyor.events import outcome
from conveyor.events.batch import JobStateChange
from conveyor.events.publisher import Publisher
from conveyor.ledger import transitions
from conveyor.ledger.schema import PARTITION_KEY, SORT_KEY
from conveyor.ledger.store import Ledger
from conveyor.ledger.views import reason
from conveyor.status import TERMINAL

logger = logging.getLogger(__name__)


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
    item = ledger.get(key[PARTITION_KEY], key[SORT_KEY])
    if item is None or not outcome.due(item, change.job_id):
        return False
    publisher.publish(outcome.detail(item, reason(item)))
    if not ledger.mark(key, change.job_id, item["status"], outcome.MARK, outcome.mark(item)):
        logger.info("job %s: the version moved on before its end was marked", change.job_id)
    return True
