"""Record one job state change against the object version named in the job's parameters."""

from __future__ import annotations

import logging
from enum import StrEnum

from conveyor.events.batch import JobStateChange
from conveyor.ledger.store import Ledger

logger = logging.getLogger(__name__)


class Recorded(StrEnum):
    APPLIED = "applied"
    STALE = "stale"
    """A duplicate, or a late event of an earlier state, attempt or job: nothing changed."""
    NOT_OURS = "not ours"
    """A job without Conveyor's parameters (someone else's job on the queue)."""


def record(ledger: Ledger, change: JobStateChange) -> Recorded:
    params = change.parameters
    if not (change.bucket and change.key and (params.get("version_id") or params.get("etag"))):
        logger.warning(
            "job %s (%s) carries no bucket/key/version parameters; ignored",
            change.job_id,
            change.job_name,
        )
        return Recorded.NOT_OURS
    applied = ledger.apply(change)
    logger.info(
        "job %s %s for s3://%s/%s: %s",
        change.job_id,
        change.status,
        change.bucket,
        change.key,
        "recorded" if applied else "stale, ignored",
    )
    return Recorded.APPLIED if applied else Recorded.STALE
