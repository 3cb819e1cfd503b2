"""`conveyor reprocess` above the threshold: archived originals copied back to staging, the new
versions claimed in batches (as `Ledger.claim` makes a claim) and run as array jobs.

The trigger hears every copy too: its claim of a version the bulk claimed first fails harmlessly
(DUPLICATE), and a version it claimed first stays its own. A re-run after a crash copies nothing
back where a copy (same ETag) already waits in staging: that version is claimed instead, or, when
an earlier run's array job has it, recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from conveyor.bulk.arrays import (
    ArrayJobs,
    Member,
    Recorded,
    close_up_claims,
    keep_fresh,
    submit_members,
)
from conveyor.bulk.copyback import archived_head, copy_back
from conveyor.bulk.plan import claim_token, common_prefix, new_bulk_id, parse_token, plan_arrays
from conveyor.bulk.progress import Progress, Silent
from conveyor.bulk.resubmit import Where
from conveyor.bulk.resume import Claimed, adopt
from conveyor.bulk.staging import Staging, list_staging
from conveyor.clock import utcnow
from conveyor.jobs import JobSpec
from conveyor.ledger.schema import primary_key
from conveyor.ledger.store import CLAIM_LEASE, TRANSACTION_LIMIT, Ledger
from conveyor.objects import ObjectVersion
from conveyor.routing import Route
from conveyor.submission import submit

Row = dict[str, Any]
Choose = Callable[[str], tuple[str | None, str]]
"""The archive version to copy back for a key, or None and why not."""
COPIERS = 16
"""CopyObjects at once: each is a server-side copy, bound by S3's latency, not this machine."""
TRIGGER_FIRST = "the trigger took it first; the routes chose its transform"
EARLIER = (
    "a copy already waits in staging, claimed by an earlier run that never submitted it: "
    "run again once its claim has expired (2 minutes)"
)


@dataclass(frozen=True)
class Wanted:
    key: str
    archive_version: str
    route: Route
    job_queue: str
    job_definition: str

    @property
    def reason(self) -> str:
        return f"reprocessing with {self.route.transform}"


@dataclass(frozen=True)
class Ready:
    """A staging version to claim for `wanted`: copied back now, or left by an earlier run."""

    wanted: Wanted
    version: ObjectVersion
    reused: bool


def reprocess_many(
    keys: Sequence[tuple[str, int]],
    *,
    choose: Choose,
    route_of: Callable[[str, int], Route | None],
    s3: Any,
    ledger: Ledger,
    jobs: ArrayJobs,
    where: Where,
    dry_run: bool = False,
    progress: Progress | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> tuple[list[Row], list[str]]:
    """Rows for the keys that went (or would go) into arrays, and the keys left to the
    one-by-one path: unrouted ones (the trigger decides) and any that share an array with no
    other. `keys` are `(key, size)` of the archive's listing."""
    shown = progress or Silent()
    shown.start("choosing archived versions", len(keys))
    rows: list[Row] = []
    wanted: list[Wanted] = []
    left: list[str] = []
    with ThreadPoolExecutor(COPIERS) as pool:
        chosen = list(pool.map(lambda pair: (pair, choose(pair[0])), keys))
    for (key, size), (version_id, why_not) in chosen:
        shown.advance()
        chosen_route = route_of(key, size)
        if version_id is None:
            rows.append({"key": key, "action": "refused", "reason": why_not})
        elif chosen_route is None:
            left.append(key)
        else:
            queue = chosen_route.job_queue or where.job_queue
            definition = chosen_route.job_definition or where.job_definition
            wanted.append(Wanted(key, version_id, chosen_route, queue, definition))
    arrays, alone = plan_arrays((w, w.job_queue, w.job_definition) for w in wanted)
    left += [w.key for w in alone]
    if dry_run:
        for number, group in enumerate(arrays, 1):
            says = f"in array job {number} of {len(arrays)} ({len(group.members)} versions)"
            rows += [
                {"key": w.key, "action": "would copy back", "reason": says} for w in group.members
            ]
        return rows, left
    shown.start("listing staging", None)
    staging = list_staging(
        s3, where.staging_bucket, common_prefix(w.key for w in wanted), shown.advance
    )
    for group in arrays:
        rows += _one_array(group.members, staging, s3, ledger, jobs, where, shown, clock)
    return rows, left


def _one_array(
    members: Sequence[Wanted],
    staging: Staging,
    s3: Any,
    ledger: Ledger,
    jobs: ArrayJobs,
    where: Where,
    progress: Progress,
    clock: Callable[[], datetime],
) -> list[Row]:
    bulk_id = new_bulk_id(clock())
    claimed_at = clock()
    rows: list[Row] = []
    slots: list[Member] = []
    claimed: list[bool] = []
    progress.start("copying back and claiming", len(members))
    for start in range(0, len(members), TRANSACTION_LIMIT):
        chunk = members[start : start + TRANSACTION_LIMIT]
        with ThreadPoolExecutor(COPIERS) as pool:
            ready = list(pool.map(lambda w: _ready(s3, staging, where, w), chunk))
        fresh, earlier = _earlier_claims(ledger, ready, rows)
        adopted, rest = adopt(
            jobs, s3, ledger, earlier, archive_bucket=where.archive_bucket, progress=progress
        )
        rows += [_recorded_row(r, "copied back by an earlier run, submitted then") for r in adopted]
        fresh += [r for r in (_ready_of(ready, c) for c in rest) if r is not None]
        tokens = [claim_token(bulk_id, len(slots) + i) for i in range(len(fresh))]
        items = ledger.claim_many(
            [(r.version, r.wanted.route.transform, t) for r, t in zip(fresh, tokens, strict=True)]
        )
        for r, token, item in zip(fresh, tokens, items, strict=True):
            spec = JobSpec.for_route(r.version, r.wanted.route)
            slots.append(Member(spec, item or {"claim_token": token}, r.wanted.reason))
            claimed.append(item is not None)
            if item is None:
                waiting = any(c.item.get("object_key") == r.version.key for c in rest)
                rows.append(
                    _row(r, "refused", EARLIER)
                    if waiting
                    else _row(r, "copied back", TRIGGER_FIRST)
                )
        progress.advance(len(chunk))
    claimed = keep_fresh(
        ledger,
        slots,
        claimed,
        claimed_at=claimed_at,
        lease_seconds=CLAIM_LEASE.total_seconds(),
        now=clock(),
    )
    ordered = close_up_claims(ledger, bulk_id, slots, claimed)
    kept = {m.item.get("pk") for m in ordered}
    rows += [
        {"key": m.spec.version.key, "action": "copied back", "reason": TRIGGER_FIRST}
        for m, ok in zip(slots, claimed, strict=True)
        if ok and m.item.get("pk") not in kept
    ]
    if len(ordered) == 1:  # an array needs two: the lone one goes as an ordinary job
        member = ordered[0]
        job_id = submit(
            jobs.batch,
            ledger,
            member.spec,
            job_queue=members[0].job_queue,
            job_definition=members[0].job_definition,
            current=member.item,
            reason=member.reason,
        )
        return [*rows, {**_member_row(member), "new_job": job_id}]
    if not ordered:
        return rows
    recorded = submit_members(
        jobs,
        s3,
        ledger,
        ordered,
        bulk_id=bulk_id,
        archive_bucket=where.archive_bucket,
        job_queue=members[0].job_queue,
        job_definition=members[0].job_definition,
        progress=progress,
    )
    return rows + [_recorded_row(r, "") for r in recorded]


def _ready(s3: Any, staging: Staging, where: Where, wanted: Wanted) -> Ready:
    """The copy waiting in staging from an earlier run (same bytes, by ETag), else a new one."""
    head = archived_head(s3, where.archive_bucket, wanted.key, wanted.archive_version)
    waiting = staging.with_etag(wanted.key, head["ETag"])
    if waiting:
        newest = waiting[0]
        version = ObjectVersion(
            where.staging_bucket, wanted.key, newest.etag, newest.size, newest.version_id
        )
        return Ready(wanted, version, reused=True)
    copied = copy_back(
        s3, staging=where.staging_bucket, archive=where.archive_bucket, key=wanted.key, head=head
    )
    return Ready(wanted, copied, reused=False)


def _earlier_claims(
    ledger: Ledger, ready: Sequence[Ready], rows: list[Row]
) -> tuple[list[Ready], list[Claimed]]:
    """New copies go on to be claimed; a copy an earlier run left is looked up first: a job has
    it (row, skipped), a bulk claimed it (to adopt if its array exists), or it is free."""
    fresh: list[Ready] = []
    earlier: list[Claimed] = []
    for r in ready:
        if not r.reused:
            fresh.append(r)
            continue
        version = r.version
        key = primary_key(version.bucket, version.key, version.ref)
        item = ledger.get(key["pk"], key["sk"])
        if item is not None and item.get("job_id"):
            rows.append(
                _row(r, "refused", f"a copy already waits in staging; job {item['job_id']} has it")
            )
        elif item is not None and parse_token(item.get("claim_token")) is not None:
            earlier.append(
                Claimed(item, r.wanted.job_queue, r.wanted.job_definition, r.wanted.reason)
            )
        else:
            fresh.append(r)
    return fresh, earlier


def _ready_of(ready: Sequence[Ready], claimed: Claimed) -> Ready | None:
    for r in ready:
        version = r.version
        if (claimed.item.get("object_key"), claimed.item.get("version_id")) == (
            version.key,
            version.version_id,
        ):
            return r
    return None


def _row(ready: Ready, action: str, reason: str) -> Row:
    return {
        "key": ready.version.key,
        "action": action,
        "reason": reason,
        "version_id": ready.version.version_id,
    }


def _member_row(member: Member) -> Row:
    return {
        "key": member.spec.version.key,
        "action": "copied back",
        "reason": f"submitted with {member.spec.transform}",
        "version_id": member.spec.version.version_id,
    }


def _recorded_row(recorded: Recorded, note: str) -> Row:
    item: Mapping[str, Any] = recorded.member.item
    reason = note or f"submitted with {recorded.member.spec.transform}"
    if not recorded.written:
        reason = "submitted, but the ledger moved on before it was recorded"
    return {
        "key": recorded.member.spec.version.key,
        "action": "copied back",
        "reason": reason,
        "version_id": item.get("version_id") or recorded.member.spec.version.version_id,
        "new_job": recorded.job_id,
    }
