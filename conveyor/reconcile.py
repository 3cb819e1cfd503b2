"""Ledger entries whose job state change never arrived, put right from what Batch says of the job.

EventBridge and the completion Lambda can each drop an event after their retries; the ledger then
says RUNNING for a job long finished. Reconciling asks Batch (DescribeJobs) about every entry that
has not moved for a while and applies its answer through the same transition rules as the events,
so it can only move an entry forward, and a second run changes nothing. A job Batch no longer knows
becomes FAILED, "job lost". With a publisher, it also announces recent ends whose event was never
put (PutEvents failing through all of the completion's retries): else nothing would ever again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from conveyor.announce import ANNOUNCE_WINDOW, announce_end, unannounced
from conveyor.clock import iso, utcnow
from conveyor.errors import ConveyorError
from conveyor.events.batch import DETAIL_TYPE, JobStateChange, parse_job_state_change
from conveyor.events.publisher import Publisher
from conveyor.ledger import transitions
from conveyor.ledger.store import Ledger
from conveyor.status import TERMINAL, Status

logger = logging.getLogger(__name__)

DEFAULT_OLDER_THAN = timedelta(minutes=15)
"""An entry unchanged this long is asked about; younger ones may just have an event on its way."""
DESCRIBE_LIMIT = 100
"""DescribeJobs takes at most this many job ids a call."""
JOB_LOST = "job lost"
LOST_ALL_LIMIT = 3
"""Batch knowing none of this many recent jobs is a client in the wrong place, not lost jobs."""
BATCH_MEMORY = timedelta(days=7)
"""Batch forgets finished jobs after some days: its silence about older ones says nothing about
the client's region or endpoint, and they must still end "job lost"."""
OPEN = (Status.SUBMITTED, Status.PENDING, Status.RUNNABLE, Status.STARTING, Status.RUNNING)
"""The statuses of a job still in flight: the only ones an event can still be missing for."""

ANNOUNCED = "announced"
WOULD_ANNOUNCE = "would announce"
NOT_ANNOUNCED = "announce failed"
"""What reconcile did with an end whose event was never put: announced it now, would (dry run),
or failed again (the next run tries again)."""

Item = Mapping[str, Any]


class JobDescriber(Protocol):
    """A Batch client, or anything answering DescribeJobs the same way (the local executor)."""

    def describe_jobs(self, *, jobs: list[str]) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Verdict:
    """What Batch's answer means for one entry: the change to apply, and whether it applies."""

    change: JobStateChange
    batch_status: str | None
    """What Batch says of the job; None when Batch does not know it."""
    becomes: Item | None
    """The entry after the change, or None when the ledger already knows as much."""


def due(item: Item, cutoff: str) -> bool:
    """An entry to ask about: it names a job and has not changed since `cutoff` (ISO time)."""
    return bool(item.get("job_id")) and str(item.get("updated_at", "")) < cutoff


def change_for(item: Item, job: Mapping[str, Any] | None) -> JobStateChange:
    """Batch's description of the entry's job as a state change, or FAILED "job lost" without one.

    The description goes through the events' own parser; the object version always comes from
    the entry, so the answer can only ever land on the entry that asked.
    """
    identity = {
        "bucket": item["bucket"],
        "key": item["object_key"],
        "version_id": item.get("version_id") or "",
        "etag": item.get("etag") or "",
    }
    if job is not None:
        event = {"detail-type": DETAIL_TYPE, "source": "aws.batch", "detail": job}
        parsed = parse_job_state_change(event)
        return replace(parsed, parameters={**parsed.parameters, **identity})
    return JobStateChange(
        job_id=item["job_id"],
        status=Status.FAILED,
        parameters=identity,
        job_name=item.get("job_name", ""),
        job_queue=item.get("job_queue", ""),
        job_definition=item.get("job_definition", ""),
        status_reason=JOB_LOST,
        created_at=item.get("job_created_at"),
        attempt=int(item.get("attempt", 1)),
    )


def judge(item: Item, job: Mapping[str, Any] | None, now: str) -> Verdict:
    """The change Batch's answer brings to `item`, decided by the ledger's own rules."""
    change = change_for(item, job)
    return Verdict(
        change=change,
        batch_status=str(job["status"]) if job is not None else None,
        becomes=transitions.apply(item, change, now),
    )


def describe(batch: JobDescriber, job_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Batch's description of each job it still knows, `DESCRIBE_LIMIT` ids a call."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(job_ids), DESCRIBE_LIMIT):
        answer = batch.describe_jobs(jobs=list(job_ids[start : start + DESCRIBE_LIMIT]))
        found.update({job["jobId"]: job for job in answer.get("jobs", [])})
    return found


def stale_entries(ledger: Ledger, cutoff: str) -> list[Item]:
    """Entries in flight that have not changed since `cutoff`, oldest first (from the index)."""
    items: Iterable[Item] = (item for status in OPEN for item in ledger.by_status(status))
    return sorted((i for i in items if due(i, cutoff)), key=lambda i: i["updated_at"])


def reconcile(
    ledger: Ledger,
    batch: JobDescriber,
    *,
    older_than: timedelta = DEFAULT_OLDER_THAN,
    dry_run: bool = False,
    now: datetime | None = None,
    publisher: Publisher | None = None,
    announce_window: timedelta = ANNOUNCE_WINDOW,
) -> list[dict[str, Any]]:
    """Ask Batch about every entry in flight unchanged for `older_than`; apply what it says.

    Returns one row per entry asked about: `action` is "updated", "would update" (dry run) or
    "unchanged" (the ledger already knew as much, or an event got there first). With
    `publisher`, an entry it ends is announced as the completion announces one, and so is every
    end of the last `announce_window` (and older than `older_than`) never announced: one row
    each, "announced", "would announce" (dry run) or "announce failed".
    """
    moment = now or utcnow()
    entries = stale_entries(ledger, iso(moment - older_than))
    asked = list(dict.fromkeys(str(item["job_id"]) for item in entries))
    jobs = describe(batch, asked)
    recent = [str(e["job_id"]) for e in entries if e["updated_at"] >= iso(moment - BATCH_MEMORY)]
    region = getattr(getattr(batch, "meta", None), "region_name", None)
    doubt = wrong_place(recent, jobs, entries, region)
    if doubt:
        raise ConveyorError(doubt)
    rows = []
    for item in entries:
        verdict = judge(item, jobs.get(str(item["job_id"])), iso(moment))
        if verdict.becomes is None:
            action = "unchanged"
        elif dry_run:
            action = "would update"
        else:
            action = "updated" if ledger.apply(verdict.change, current=item) else "unchanged"
            ending = verdict.change.status in TERMINAL
            if action == "updated" and ending and publisher is not None:
                _announce(ledger, publisher, item, verdict.change.job_id)
        rows.append(_row(item, verdict, action))
    if publisher is not None:
        since, cutoff = iso(moment - announce_window), iso(moment - older_than)
        repaired = {str(row["job_id"]) for row in rows}
        ends = [e for e in unannounced(ledger, since, cutoff) if str(e["job_id"]) not in repaired]
        rows.extend(_announced(ledger, publisher, end, dry_run) for end in ends)
    return rows


def _announced(ledger: Ledger, publisher: Publisher, end: Item, dry_run: bool) -> dict[str, Any]:
    """The row of an end never announced, announcing it unless `dry_run`."""
    put, failure = (False, None) if dry_run else _announce(ledger, publisher, end, end["job_id"])
    if dry_run:
        action = WOULD_ANNOUNCE
    else:  # not put, no failure: someone else announced it since the index was read
        action = NOT_ANNOUNCED if failure else ANNOUNCED if put else "unchanged"
    return {
        "key": end["object_key"],
        "version_id": end.get("version_id"),
        "job_id": end["job_id"],
        "updated_at": end["updated_at"],
        "ledger_status": end["status"],
        "batch_status": None,
        "action": action,
        "new_status": None,
        "reason": failure or "",
    }


def _announce(
    ledger: Ledger, publisher: Publisher, key: Item, job_id: str
) -> tuple[bool, str | None]:
    """Announce job `job_id`'s end on the version `key` (an item) names: whether this call put
    it, and why it failed. An event that cannot be put is logged, not raised: the other entries
    still get repaired, and the next run tries it again."""
    try:
        return announce_end(ledger, publisher, key, job_id), None
    except (ConveyorError, ClientError, BotoCoreError) as err:
        logger.exception("job %s ended, but its event could not be put", job_id)
        return False, str(err) or type(err).__name__


def oldest_in_flight_seconds(rows: Sequence[Mapping[str, Any]], now: datetime) -> int:
    """Seconds since the least recently changed entry still in flight last changed; 0 if none.

    `rows` are reconcile's answer: an entry it just updated has moved (to an end, or forward),
    so it is not stuck. Entries too young to be asked about are younger than any alarm on this
    number, so they may be left out. A number that keeps growing means work is stuck.
    """
    open_statuses = {str(status) for status in OPEN}
    ages = [
        (now - datetime.fromisoformat(str(row["updated_at"]))).total_seconds()
        for row in rows
        if row["action"] != "updated" and str(row["ledger_status"]) in open_statuses
    ]
    return max(0, int(max(ages, default=0)))


def wrong_place(
    asked: Sequence[str], known: Mapping[str, Any], entries: Sequence[Item], region: str | None
) -> str | None:
    """Why Batch's silence cannot mean "job lost", or None. FAILED is final, so a Batch client
    pointed at another region or endpoint must not fail every job the ledger has in flight."""
    queues = {str(item.get("job_queue") or "") for item in entries}
    regions = {
        arn.split(":")[3] for arn in queues if arn.startswith("arn:") and arn.count(":") >= 5
    }
    if region and regions and region not in regions:
        return (
            f"the ledger's jobs ran in {', '.join(sorted(regions))}, but Batch is asked in "
            f"{region}: set AWS_REGION (or AWS_DEFAULT_REGION) to the stack's region"
        )
    if len(asked) >= LOST_ALL_LIMIT and not any(job in known for job in asked):
        return (
            f"Batch knows none of the {len(asked)} recent jobs the ledger has in flight: is "
            "this the stack's account, region and endpoint (AWS_ENDPOINT_URL_BATCH)? "
            "Nothing was changed"
        )
    return None


def _row(item: Item, verdict: Verdict, action: str) -> dict[str, Any]:
    becomes = verdict.becomes if action != "unchanged" else None
    return {
        "key": item["object_key"],
        "version_id": item.get("version_id"),
        "job_id": item["job_id"],
        "updated_at": item["updated_at"],
        "ledger_status": item["status"],
        "batch_status": verdict.batch_status,
        "action": action,
        "new_status": becomes["status"] if becomes else None,
        "reason": verdict.change.status_reason if becomes else "",
    }
