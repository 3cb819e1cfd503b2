"""Record one job state change against the object version named in the job's parameters."""

from __future__ import annotations

import logging
from enum import StrEnum
from functools import cache

from completion_lambda.arrays import resolve_child
from conveyor.announce import announce
from conveyor.aws import client
from conveyor.events.batch import JobStateChange
from conveyor.events.publisher import Publisher
from conveyor.ledger.store import Ledger
from conveyor.manifest import ManifestReader

logger = logging.getLogger(__name__)


class Recorded(StrEnum):
    APPLIED = "applied"
    STALE = "stale"
    """A duplicate, or a late event of an earlier state, attempt or job: nothing changed."""
    NOT_OURS = "not ours"
    """A job without Conveyor's parameters (someone else's job on the queue)."""
    ARRAY_PARENT = "array parent"
    """An array job's parent: its children's own events are recorded, each on its version."""


def record(
    ledger: Ledger,
    change: JobStateChange,
    manifests: ManifestReader | None = None,
    publisher: Publisher | None = None,
) -> Recorded:
    """Apply `change` to its version's entry. An array child's version is read from its
    manifest with `manifests` (made from a new S3 client when not given). With `publisher`, a
    job's end is then announced on EventBridge (`conveyor.announce`), also on a retry whose
    write was already made; a refused PutEvents raises, so the event is retried."""
    if change.is_array_parent:
        logger.info(
            "array job %s (%s) %s: its children are recorded one by one",
            change.job_id,
            change.job_name,
            change.status,
        )
        return Recorded.ARRAY_PARENT
    if change.manifest is not None:
        change = resolve_child(change, manifests or default_reader())
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
    if publisher is not None:
        announce(ledger, publisher, change)
    return Recorded.APPLIED if applied else Recorded.STALE


@cache
def default_reader() -> ManifestReader:
    """For callers that record without building a reader (the local stack): built once, on the
    first array child's event."""
    return ManifestReader(client("s3"))
