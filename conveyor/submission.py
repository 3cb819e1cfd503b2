"""SubmitJob, then record SUBMITTED (Batch sends no event for that state): shared by the trigger
and by the operator commands that resubmit or sweep."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conveyor.clock import millis, utcnow
from conveyor.events.batch import JobStateChange
from conveyor.ledger.status import Status
from conveyor.ledger.store import Ledger


def submit(
    batch: Any,
    ledger: Ledger,
    *,
    parameters: dict[str, str],
    job_name: str,
    job_queue: str,
    job_definition: str,
    current: Mapping[str, Any] | None = None,
    reason: str = "",
) -> str:
    """Submit one job for one version and record it; returns the job id. SubmitJob's errors pass
    through untouched (the caller decides what a refusal means)."""
    submitted_at = millis(utcnow())
    response = batch.submit_job(
        jobName=job_name, jobQueue=job_queue, jobDefinition=job_definition, parameters=parameters
    )
    ledger.apply(
        JobStateChange(
            job_id=response["jobId"],
            status=Status.SUBMITTED,
            parameters=parameters,
            job_name=job_name,
            job_queue=job_queue,
            job_definition=job_definition,
            created_at=submitted_at,
            status_reason=reason,
        ),
        current=current,
    )
    return response["jobId"]
