"""One array job, after its versions are claimed: close up the indexes, write the manifest,
SubmitJob once, record every child's SUBMITTED. Shared by bulk resubmit and reprocess.

SubmitJob has no idempotency token, so botocore never retries it here (conveyor.aws
.never_retried): after an answer that leaves it unknown whether Batch took the job (5xx, a dropped
connection), the array is looked for by its name (`conveyor-bulk-<bulk id>`, which only it and
its children bear) before trying again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from conveyor import manifest
from conveyor.aws import never_retried
from conveyor.bulk.plan import claim_token, close_up
from conveyor.bulk.progress import Progress
from conveyor.clock import millis, utcnow
from conveyor.errors import SubmitFailed
from conveyor.events.batch import JobStateChange
from conveyor.jobs import JobSpec, array_job_name, array_parameters, child_job_id
from conveyor.ledger.store import TRANSACTION_LIMIT, Ledger
from conveyor.s3 import error_code
from conveyor.status import Status
from conveyor.submit_once import backoff, may_try_again

logger = logging.getLogger(__name__)

SUBMIT_ATTEMPTS = 6


@dataclass(frozen=True)
class Member:
    """One version in an array: its job spec, its ledger item as claimed (its `claim_token`
    names the bulk and its index) and the reason its SUBMITTED record gives."""

    spec: JobSpec
    item: Mapping[str, Any]
    reason: str

    @property
    def token(self) -> str:
        return str(self.item["claim_token"])


@dataclass(frozen=True)
class Submitted:
    """The array job Batch accepted (or an earlier run's, found by name)."""

    job_id: str
    created_at: int
    job_name: str
    job_queue: str
    job_definition: str


@dataclass(frozen=True)
class Recorded:
    member: Member
    job_id: str
    written: bool
    """False when the ledger had moved on (the claim was lost) before it could be recorded."""


class ArrayJobs:
    """Batch's side of array jobs, on a client whose SubmitJob botocore never retries."""

    def __init__(self, batch: Any, sleep: Callable[[float], None] = time.sleep) -> None:
        self.batch = never_retried(batch, "SubmitJob")
        self._sleep = sleep

    def find(self, job_queue: str, bulk_id: str) -> Submitted | None:
        """The array job of `bulk_id` on `job_queue`, if one was submitted."""
        name = array_job_name(bulk_id)
        pages = self.batch.get_paginator("list_jobs").paginate(
            jobQueue=job_queue, filters=[{"name": "JOB_NAME", "values": [name]}]
        )
        found = [
            job
            for page in pages
            for job in page.get("jobSummaryList", [])
            if job.get("jobName") == name and ":" not in job["jobId"]  # not its children
        ]
        if not found:
            return None
        if len(found) > 1:
            logger.warning("%d array jobs are named %s; the first one counts", len(found), name)
        first = min(found, key=lambda job: (job.get("createdAt", 0), job["jobId"]))
        return Submitted(
            job_id=first["jobId"],
            created_at=int(first.get("createdAt") or 0),
            job_name=name,
            job_queue=job_queue,
            job_definition="",
        )

    def submit(
        self, bulk_id: str, size: int, manifest_uri: str, job_queue: str, job_definition: str
    ) -> Submitted:
        """SubmitJob for the array, once: a refusal raises at once (ClientError); after an
        unknown outcome the job is looked for before another try."""
        name = array_job_name(bulk_id)
        created_at = millis(utcnow())
        for attempt in range(SUBMIT_ATTEMPTS):
            try:
                answer = self.batch.submit_job(
                    jobName=name,
                    jobQueue=job_queue,
                    jobDefinition=job_definition,
                    parameters=array_parameters(manifest_uri),
                    arrayProperties={"size": size},
                )
            except (ClientError, BotoCoreError) as err:
                if not may_try_again(err):
                    raise
                logger.warning("SubmitJob for %s: %s; looking for it", name, err)
                found = self.find(job_queue, bulk_id)  # the last try too may have been applied
                if found is not None:
                    return replace(found, job_definition=job_definition)
                if attempt == SUBMIT_ATTEMPTS - 1:
                    raise
                self._sleep(backoff(attempt))
                continue
            return Submitted(answer["jobId"], created_at, name, job_queue, job_definition)
        raise AssertionError("unreachable")


def close_up_claims(
    ledger: Ledger, bulk_id: str, members: Sequence[Member], claimed: Sequence[bool]
) -> list[Member]:
    """The claimed members, re-indexed 0..n-1 in their tokens: the last ones move into the
    holes refused claims left (one conditional write each)."""
    slots: list[Member | None] = [m if ok else None for m, ok in zip(members, claimed, strict=True)]
    while True:
        moves = close_up([slot is not None for slot in slots])
        if not moves:
            return [slot for slot in slots if slot is not None]
        moving = [(source, target, _present(slots[source])) for source, target in moves]
        done = ledger.reclaim_many(
            [(member.item, claim_token(bulk_id, target)) for _, target, member in moving]
        )
        for (source, target, member), ok in zip(moving, done, strict=True):
            slots[source] = None
            if ok:  # else someone took it meanwhile: one more hole to close
                item = {**member.item, "claim_token": claim_token(bulk_id, target)}
                slots[target] = replace(member, item=item)


def _present(member: Member | None) -> Member:
    if member is None:
        raise AssertionError("close_up moves only claimed members")
    return member


def keep_fresh(
    ledger: Ledger,
    members: Sequence[Member],
    claimed: Sequence[bool],
    *,
    claimed_at: datetime,
    lease_seconds: float,
    now: datetime,
) -> list[bool]:
    """Claims older than half their lease could be taken by another run any moment: renew
    them (conditionally: only those still this bulk's) before anything is submitted on them.
    Returns which are still claimed."""
    if (now - claimed_at).total_seconds() <= lease_seconds / 2:
        return list(claimed)
    held = [m.item for m, ok in zip(members, claimed, strict=True) if ok]
    renewed = iter(ledger.renew_many(held))
    return [ok and next(renewed) for ok in claimed]


def write_manifest(
    s3: Any, ledger: Ledger, bucket: str, bulk_id: str, members: Sequence[Member]
) -> str:
    """The manifest's URI; when it cannot be written (no s3:PutObject on the prefix, say) the
    claims are given back at once, so the versions do not wait for them to go stale."""
    what = f"the manifest of {array_job_name(bulk_id)} under s3://{bucket}/{manifest.PREFIX}"
    with _claims_given_back(ledger, members, "manifest not written", what):
        return manifest.write(s3, bucket, bulk_id, [m.spec.parameters() for m in members])


def submit_array(
    jobs: ArrayJobs,
    ledger: Ledger,
    members: Sequence[Member],
    *,
    bulk_id: str,
    manifest_uri: str,
    job_queue: str,
    job_definition: str,
) -> Submitted:
    """SubmitJob; on a refusal the claims are given back and SubmitFailed names the reason."""
    what = f"SubmitJob for the array {array_job_name(bulk_id)} of {len(members)}"
    with _claims_given_back(ledger, members, "SubmitJob failed", what):
        return jobs.submit(bulk_id, len(members), manifest_uri, job_queue, job_definition)


@contextmanager
def _claims_given_back(
    ledger: Ledger, members: Sequence[Member], reason: str, what: str
) -> Iterator[None]:
    """A step before any job exists failed: the claims go back at once (the versions need not
    wait for them to go stale) and SubmitFailed says which step and why."""
    try:
        yield
    except (ClientError, BotoCoreError) as err:
        ledger.release_many([m.item for m in members], f"{reason}: {_code(err)}")
        raise SubmitFailed(f"{what} failed: {_code(err)}") from err


def submit_members(
    jobs: ArrayJobs,
    s3: Any,
    ledger: Ledger,
    members: Sequence[Member],
    *,
    bulk_id: str,
    archive_bucket: str,
    job_queue: str,
    job_definition: str,
    progress: Progress,
) -> list[Recorded]:
    """Claimed members, in their final order, as one array job: its manifest written, the job
    submitted, each child's SUBMITTED recorded."""
    progress.start("writing manifest", None)
    uri = write_manifest(s3, ledger, archive_bucket, bulk_id, members)
    progress.start("submitting", None)
    array = submit_array(
        jobs,
        ledger,
        members,
        bulk_id=bulk_id,
        manifest_uri=uri,
        job_queue=job_queue,
        job_definition=job_definition,
    )
    return record_children(ledger, array, list(enumerate(members)), progress)


def record_children(
    ledger: Ledger,
    array: Submitted,
    members: Sequence[tuple[int, Member]],
    progress: Progress,
) -> list[Recorded]:
    """Every child's SUBMITTED (job id `<parent>:<i>` for member `(i, member)`), as
    `transitions.apply` makes it, batched, each on condition that its claim is still this
    bulk's."""
    progress.start("recording", len(members))
    recorded: list[Recorded] = []
    for start in range(0, len(members), TRANSACTION_LIMIT):
        chunk = members[start : start + TRANSACTION_LIMIT]
        changes = [(member.item, child_change(array, index, member)) for index, member in chunk]
        done = ledger.apply_claimed_many(changes)
        recorded += [
            Recorded(member, change.job_id, ok)
            for (_, member), (_, change), ok in zip(chunk, changes, done, strict=True)
        ]
        progress.advance(len(chunk))
    return recorded


def child_change(array: Submitted, index: int, member: Member) -> JobStateChange:
    return JobStateChange(
        job_id=child_job_id(array.job_id, index),
        status=Status.SUBMITTED,
        parameters=member.spec.parameters(),
        job_name=array.job_name,
        job_queue=array.job_queue,
        job_definition=array.job_definition,
        created_at=array.created_at,
        status_reason=member.reason,
    )


def _code(err: Exception) -> str:
    return error_code(err) if isinstance(err, ClientError) else type(err).__name__
