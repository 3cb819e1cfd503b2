"""SubmitJob that makes one job, however its answers are lost.

SubmitJob is not idempotent: botocore's own retry of a request Batch applied but whose answer was
lost (a dropped connection, a 5xx from a load balancer after the write) submits a second job for
the same version. So botocore never retries it here; after an error that may hide an applied
request, the job is looked for by its name (ListJobs with a JOB_NAME filter, any status) before
another try. A job counts as this submission's when it was created since just before the first
try and is not one the caller already knows (the failed job a resubmission replaces, whose name
is the same: one name per version and transform).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from conveyor.aws import never_retried
from conveyor.clock import millis, utcnow

logger = logging.getLogger(__name__)

ATTEMPTS = 6
"""As many tries as botocore's standard mode gives other calls (conveyor.aws.RETRIES)."""
CLOCK_SKEW_MS = 5_000
"""Batch's createdAt may be a little behind this machine's clock."""
THROTTLED = frozenset(
    {"TooManyRequestsException", "ThrottlingException", "Throttling", "RequestLimitExceeded"}
)

Sleep = Callable[[float], None]


def submit_job_once(
    batch: Any,
    *,
    known: Collection[str] = (),
    sleep: Sleep = time.sleep,
    **request: Any,
) -> Mapping[str, Any]:
    """SubmitJob(**request) that creates at most one job; returns {"jobId", "jobName", "found"}
    where `found` says an earlier try's job was adopted. A refusal (4xx) raises at once; the
    last error raises after ATTEMPTS tries."""
    never_retried(batch, "SubmitJob")
    since = millis(utcnow()) - CLOCK_SKEW_MS
    name, queue = request["jobName"], request["jobQueue"]
    for attempt in range(ATTEMPTS):
        try:
            answer = batch.submit_job(**request)
            return {"jobId": answer["jobId"], "jobName": name, "found": False}
        except (ClientError, BotoCoreError) as err:
            if not may_try_again(err):
                raise
            logger.warning("SubmitJob %s: %s; looking for it", name, err)
            last = err
        # Every unanswered try, the last one too, may have been applied: look before giving up.
        found = find_submitted(batch, queue, name, since=since, known=known)
        if found is not None:
            logger.info("SubmitJob %s had been applied: job %s", name, found)
            return {"jobId": found, "jobName": name, "found": True}
        if attempt == ATTEMPTS - 1:
            raise last
        sleep(backoff(attempt))
    raise AssertionError("unreachable")


def find_submitted(
    batch: Any, queue: str, name: str, *, since: int, known: Collection[str] = ()
) -> str | None:
    """The oldest job named `name` on `queue` created at or after `since` (epoch ms) that is
    not in `known`, or None."""
    pages = batch.get_paginator("list_jobs").paginate(
        jobQueue=queue, filters=[{"name": "JOB_NAME", "values": [name]}]
    )
    jobs = [
        job
        for page in pages
        for job in page.get("jobSummaryList", [])
        if job.get("jobName") == name
        and job["jobId"] not in known
        and int(job.get("createdAt") or 0) >= since
    ]
    if not jobs:
        return None
    return min(jobs, key=lambda job: (int(job.get("createdAt") or 0), job["jobId"]))["jobId"]


def may_try_again(err: Exception) -> bool:
    """Whether another SubmitJob may work: throttled, a server error, or no answer at all."""
    if isinstance(err, ClientError):
        status = int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        code = err.response.get("Error", {}).get("Code", "")
        return status >= 500 or status == 429 or code in THROTTLED
    return True  # BotoCoreError: the connection broke, timed out or was never made


def backoff(attempt: int) -> float:
    """Seconds before try `attempt + 2`: 0.2, 0.4, 0.8 ... at most 5."""
    return min(0.2 * 2**attempt, 5.0)
