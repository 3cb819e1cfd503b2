"""SubmitJob, then record SUBMITTED (Batch sends no event for that state): shared by the trigger
and by the operator commands that resubmit or sweep."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conveyor.clock import millis, utcnow
from conveyor.errors import InProgress
from conveyor.events.batch import JobStateChange
from conveyor.jobs import JobSpec
from conveyor.ledger.entries import spec_of
from conveyor.ledger.store import Ledger
from conveyor.routing import Route
from conveyor.status import Status
from conveyor.submit_once import submit_job_once


def submit(
    batch: Any,
    ledger: Ledger,
    spec: JobSpec,
    *,
    job_queue: str,
    job_definition: str,
    current: Mapping[str, Any] | None = None,
    reason: str = "",
    replaces: str = "",
) -> str:
    """Submit one job for one version and record it; returns the job id. SubmitJob is tried until
    it is known to have made exactly one job (conveyor.submit_once); its errors then pass through
    untouched (the caller decides what a refusal means). `replaces`: the job this one follows,
    whose name is the same."""
    submitted_at = millis(utcnow())
    parameters = spec.parameters()
    known = {replaces, (current or {}).get("job_id") or ""} - {""}
    response = submit_job_once(
        batch,
        known=known,
        jobName=spec.name,
        jobQueue=job_queue,
        jobDefinition=job_definition,
        parameters=parameters,
    )
    ledger.apply(
        JobStateChange(
            job_id=response["jobId"],
            status=Status.SUBMITTED,
            parameters=parameters,
            job_name=spec.name,
            job_queue=job_queue,
            job_definition=job_definition,
            created_at=submitted_at,
            status_reason=reason,
        ),
        current=current,
    )
    return response["jobId"]


RESUBMIT_STALE_SECONDS = 120.0
"""A resubmission that marked the entry but never submitted (it died) stops blocking after this."""


def resubmit(
    batch: Any,
    ledger: Ledger,
    item: Mapping[str, Any],
    *,
    job_queue: str,
    job_definition: str,
    reason: str,
    route: Route | None = None,
) -> str:
    """A new job for a version the ledger knows: the spec its last job had, or, with `route`,
    what that route chooses now (after the routes were fixed).

    The FAILED entry is marked first, conditionally (`Ledger.begin_retry`): of two
    resubmissions at once (two clicks, two operators, a stale read) one submits, the other gets
    InProgress, so no version ever gets two new jobs."""
    if not ledger.begin_retry(item, item.get("job_id") or "", RESUBMIT_STALE_SECONDS):
        raise InProgress("a resubmission of it is already under way (or it is no longer FAILED)")
    spec = spec_of(item)
    queue = item.get("job_queue") or job_queue
    definition = item.get("job_definition") or job_definition
    if route is not None:
        spec = JobSpec.for_route(spec.version, route)
        queue = route.job_queue or job_queue
        definition = route.job_definition or job_definition
    return submit(
        batch,
        ledger,
        spec,
        job_queue=queue,
        job_definition=definition,
        reason=reason,
        replaces=item.get("job_id") or "",
    )
