"""A run that died after SubmitJob and before recording every child (or whose answer from
SubmitJob was lost) left versions claimed by a bulk whose array job exists: a re-run finds the
job by its name and records the children, submitting nothing.

Claims of a bulk with no array job are not touched here: the claim's own condition decides
(refused while fresh, taken again once stale).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from conveyor import manifest
from conveyor.bulk.arrays import ArrayJobs, Member, Recorded, Submitted, record_children
from conveyor.bulk.plan import parse_token
from conveyor.bulk.progress import Progress
from conveyor.errors import BadEvent
from conveyor.jobs import JobSpec
from conveyor.ledger.schema import PARTITION_KEY, SORT_KEY
from conveyor.ledger.store import Ledger
from conveyor.ledger.transitions import identity_fields

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claimed:
    """A version found claimed by a bulk: where its array would be, and its record's reason."""

    item: Mapping[str, Any]
    job_queue: str
    job_definition: str
    reason: str


def adopt(
    jobs: ArrayJobs,
    s3: Any,
    ledger: Ledger,
    found: Sequence[Claimed],
    *,
    archive_bucket: str,
    progress: Progress,
) -> tuple[list[Recorded], list[Claimed]]:
    """Record the children of every earlier bulk whose array job exists; the rest come back."""
    by_bulk: dict[str, list[tuple[int, Claimed]]] = {}
    rest: list[Claimed] = []
    for claimed in found:
        token = parse_token(claimed.item.get("claim_token"))
        if token is None:
            rest.append(claimed)
        else:
            by_bulk.setdefault(token[0], []).append((token[1], claimed))
    recorded: list[Recorded] = []
    for bulk_id, members in by_bulk.items():
        array = _find(jobs, bulk_id, members)
        if array is None:
            rest += [claimed for _, claimed in members]
            continue
        logger.info("array %s of an earlier run exists: recording its children", array.job_id)
        _, records = manifest.read_all(s3, manifest.uri_for(archive_bucket, bulk_id))
        adopted: list[tuple[int, Member]] = []
        for index, claimed in members:
            spec = _spec_for(records, index, claimed.item)
            if spec is None:
                rest.append(claimed)
                continue
            adopted.append((index, Member(spec, claimed.item, claimed.reason)))
        recorded += record_children(ledger, array, adopted, progress)
    return recorded, rest


def _find(
    jobs: ArrayJobs, bulk_id: str, members: Sequence[tuple[int, Claimed]]
) -> Submitted | None:
    queues = dict.fromkeys((c.job_queue, c.job_definition) for _, c in members)
    for queue, definition in queues:
        array = jobs.find(queue, bulk_id)
        if array is not None:
            return replace(array, job_definition=array.job_definition or definition)
    return None


def _spec_for(
    records: Sequence[Mapping[str, str]], index: int, item: Mapping[str, Any]
) -> JobSpec | None:
    """Record `index`'s spec, if it is the spec of `item`'s version (it always should be)."""
    if index >= len(records):
        logger.warning("claim %s points past its manifest", item.get("claim_token"))
        return None
    try:
        spec = JobSpec.from_parameters(records[index])
    except BadEvent:
        logger.warning("record %d of the manifest of %s is malformed", index, item[PARTITION_KEY])
        return None
    version = spec.version
    names = identity_fields(
        bucket=version.bucket, key=version.key, version_id=version.version_id, etag=version.etag
    )
    if (names[PARTITION_KEY], names[SORT_KEY]) != (item[PARTITION_KEY], item[SORT_KEY]):
        logger.warning("record %d of a manifest names another version than its claim", index)
        return None
    return spec
