"""`conveyor resubmit` above the threshold: FAILED versions still in staging, claimed in
batches, as array jobs over manifests; one SubmitJob per array instead of one per version.

Order of work, each step safe to die after (a re-run of the same command submits nothing
twice): one staging listing; adopt arrays an earlier run submitted but never recorded; plan the
arrays; for each, claim (TransactWriteItems of 100, as `Ledger.begin_retry` does one), close up
the indexes, write the manifest, SubmitJob, record the children.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from conveyor import submission
from conveyor.bulk.arrays import (
    ArrayJobs,
    Member,
    Recorded,
    close_up_claims,
    keep_fresh,
    submit_members,
)
from conveyor.bulk.plan import claim_token, common_prefix, new_bulk_id, plan_arrays
from conveyor.bulk.progress import Progress, Silent
from conveyor.bulk.resume import Claimed, adopt
from conveyor.bulk.staging import list_staging
from conveyor.clock import iso, utcnow
from conveyor.errors import InProgress
from conveyor.jobs import JobSpec
from conveyor.ledger.entries import Entry, spec_of
from conveyor.ledger.store import TRANSACTION_LIMIT, Ledger
from conveyor.operations import refusal
from conveyor.routing import Route, route
from conveyor.submission import resubmit as resubmit_one
from conveyor.submission import submit

Row = dict[str, Any]
REFUSED_IN_PROGRESS = "a resubmission of it is already under way (or it is no longer FAILED)"


@dataclass(frozen=True)
class Where:
    staging_bucket: str
    archive_bucket: str
    """Manifests go under `.conveyor/manifests/` here."""
    job_queue: str
    job_definition: str


@dataclass(frozen=True)
class Candidate:
    entry: Entry
    spec: JobSpec
    job_queue: str
    job_definition: str
    route: Route | None

    @property
    def reason(self) -> str:
        return f"resubmission of job {self.entry.job_id}"


def resubmit_many(
    entries: Sequence[Entry],
    *,
    s3: Any,
    ledger: Ledger,
    jobs: ArrayJobs,
    batch: Any,
    where: Where,
    routes: Sequence[Route] | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    stale_after: float | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> list[Row]:
    """One row per entry, shaped as the one-by-one path's (`action`: resubmitted, refused,
    would resubmit); `batch` submits the few versions that end up alone as ordinary jobs.
    Claims go stale after `stale_after` seconds (default: the one-by-one path's)."""
    shown = progress or Silent()
    if stale_after is None:
        stale_after = submission.RESUBMIT_STALE_SECONDS
    shown.start("listing staging", None)
    staging = list_staging(
        s3, where.staging_bucket, common_prefix(e.key for e in entries), shown.advance
    )
    rows: list[Row] = []
    candidates: list[Candidate] = []
    for entry in entries:
        in_staging = staging.holds(entry.key, entry.version_id, entry.etag)
        chosen = route(entry.key, int(entry.get("size") or 0), routes) if routes else None
        why_not = refusal(entry, in_staging) or (
            "no route matches it now" if routes and chosen is None else None
        )
        if why_not:
            rows.append(_row(entry, "refused", why_not))
        else:
            candidates.append(_candidate(entry, chosen, where))
    if dry_run:
        return rows + _dry_run(candidates)

    by_token = {c.entry.get("claim_token"): c for c in candidates if c.entry.get("claim_token")}
    adopted, _ = adopt(
        jobs,
        s3,
        ledger,
        [Claimed(c.entry, c.job_queue, c.job_definition, c.reason) for c in by_token.values()],
        archive_bucket=where.archive_bucket,
        progress=shown,
    )
    done_tokens = {r.member.item.get("claim_token") for r in adopted}
    rows += [_recorded_row(r, "submitted by an earlier run, recorded now") for r in adopted]
    candidates = [c for c in candidates if c.entry.get("claim_token") not in done_tokens]

    arrays, alone = plan_arrays((c, c.job_queue, c.job_definition) for c in candidates)
    for group in arrays:
        rows += _one_array(
            group.members,
            s3=s3,
            ledger=ledger,
            jobs=jobs,
            where=where,
            progress=shown,
            stale_after=stale_after,
            clock=clock,
        )
    for candidate in alone:
        rows.append(_alone(candidate, batch, ledger, where))
    return rows


def _one_array(
    members: Sequence[Candidate],
    *,
    s3: Any,
    ledger: Ledger,
    jobs: ArrayJobs,
    where: Where,
    progress: Progress,
    stale_after: float,
    clock: Callable[[], datetime],
) -> list[Row]:
    bulk_id = new_bulk_id(clock())
    claimed_at = clock()
    first = members[0]
    progress.start("claiming", len(members))
    retry_mark = iso(claimed_at)
    wanted = [
        Member(
            c.spec,
            {**c.entry, "claim_token": claim_token(bulk_id, i), "retry_started_at": retry_mark},
            c.reason,
        )
        for i, c in enumerate(members)
    ]
    claimed: list[bool] = []
    for start in range(0, len(wanted), TRANSACTION_LIMIT):
        chunk = wanted[start : start + TRANSACTION_LIMIT]
        claimed += ledger.claim_failed_many([(m.item, m.token) for m in chunk], stale_after)
        progress.advance(len(chunk))
    claimed = keep_fresh(
        ledger, wanted, claimed, claimed_at=claimed_at, lease_seconds=stale_after, now=clock()
    )
    ordered = close_up_claims(ledger, bulk_id, wanted, claimed)
    kept = {(m.item["pk"], m.item["sk"]) for m in ordered}
    rows = [
        _row(m.item, "refused", REFUSED_IN_PROGRESS)
        for m in wanted
        if (m.item["pk"], m.item["sk"]) not in kept
    ]
    if not ordered:
        return rows
    if len(ordered) == 1:  # an array needs two: the lone one goes as an ordinary job
        return [*rows, _alone_claimed(ordered[0], first, jobs, ledger)]
    recorded = submit_members(
        jobs,
        s3,
        ledger,
        ordered,
        bulk_id=bulk_id,
        archive_bucket=where.archive_bucket,
        job_queue=first.job_queue,
        job_definition=first.job_definition,
        progress=progress,
    )
    return rows + [_recorded_row(r, "") for r in recorded]


def _alone(candidate: Candidate, batch: Any, ledger: Ledger, where: Where) -> Row:
    """A version that shares its array with no other: submitted as today, one by one."""
    try:
        job_id = resubmit_one(
            batch,
            ledger,
            candidate.entry,
            job_queue=where.job_queue,
            job_definition=where.job_definition,
            reason=candidate.reason,
            route=candidate.route,
        )
    except InProgress as err:
        return _row(candidate.entry, "refused", str(err))
    return {**_row(candidate.entry, "resubmitted", ""), "new_job": job_id}


def _alone_claimed(member: Member, first: Candidate, jobs: ArrayJobs, ledger: Ledger) -> Row:
    """The one version of an array left after refusals: an ordinary job, on its claim."""
    job_id = submit(
        jobs.batch,
        ledger,
        member.spec,
        job_queue=first.job_queue,
        job_definition=first.job_definition,
        current=member.item,
        reason=member.reason,
    )
    return {**_row(member.item, "resubmitted", ""), "new_job": job_id}


def _candidate(entry: Entry, chosen: Route | None, where: Where) -> Candidate:
    spec = spec_of(entry)
    queue = entry.get("job_queue") or where.job_queue
    definition = entry.get("job_definition") or where.job_definition
    if chosen is not None:
        spec = JobSpec.for_route(spec.version, chosen)
        queue = chosen.job_queue or where.job_queue
        definition = chosen.job_definition or where.job_definition
    return Candidate(entry, spec, queue, definition, chosen)


def _dry_run(candidates: Sequence[Candidate]) -> list[Row]:
    arrays, alone = plan_arrays((c, c.job_queue, c.job_definition) for c in candidates)
    rows = []
    for number, group in enumerate(arrays, 1):
        says = f"in array job {number} of {len(arrays)} ({len(group.members)} versions)"
        rows += [_row(c.entry, "would resubmit", says) for c in group.members]
    rows += [_row(c.entry, "would resubmit", "as an ordinary job") for c in alone]
    return rows


def _row(item: Mapping[str, Any], action: str, reason: str) -> Row:
    return {
        "key": item.get("object_key"),
        "version_id": item.get("version_id"),
        "old_job": item.get("job_id"),
        "action": action,
        "reason": reason,
    }


def _recorded_row(recorded: Recorded, note: str) -> Row:
    reason = (
        note if recorded.written else "submitted, but the ledger moved on before it was recorded"
    )
    return {**_row(recorded.member.item, "resubmitted", reason), "new_job": recorded.job_id}
