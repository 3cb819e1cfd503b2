"""What the worker tells the ledger. The work is done by then, so a ledger hiccup is logged, not
fatal: Batch's own state change still reaches the ledger through the completion Lambda."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from batch_job.config import Job
from conveyor.events.batch import JobStateChange
from conveyor.ledger.store import Ledger
from conveyor.ledger.transitions import identity_fields
from conveyor.status import Status

logger = logging.getLogger(__name__)


class Recorder:
    def __init__(self, ledger: Ledger | None, job: Job, version_id: str | None, etag: str) -> None:
        """`version_id` and `etag` are the version found in staging (or the archive), which a job
        given only an ETag learns there."""
        self._ledger = ledger
        self._job = job
        found = replace(job.spec.version, version_id=version_id, etag=etag)
        self._parameters = replace(job.spec, version=found).parameters()
        self._key = identity_fields(
            bucket=found.bucket, key=found.key, version_id=found.version_id, etag=found.etag
        )

    def note(self, **fields: Any) -> None:
        if self._ledger is None:
            return
        try:
            if not self._ledger.annotate(self._key, fields):
                logger.info("the ledger has no item for this version; facts not recorded")
        except Exception:
            logger.exception("could not record %s in the ledger", sorted(fields))

    def progress(self, percent: float) -> bool:
        """Put the job's percent on its ledger entry; False when it did not land (no ledger, no
        job id, the entry not this job's RUNNING one yet or any more, or the ledger failing)."""
        if self._ledger is None or not self._job.job_id:
            return False
        try:
            return self._ledger.progress(self._key, self._job.job_id, percent)
        except Exception as err:
            logger.warning("could not record progress in the ledger: %s", err)
            return False

    def superseded(self, reason: str) -> None:
        if self._ledger is None or not self._job.job_id:
            return
        change = JobStateChange(
            job_id=self._job.job_id,
            status=Status.SUPERSEDED,
            parameters=self._parameters,
            status_reason=reason,
            attempt=self._job.attempt,
        )
        try:
            self._ledger.apply(change)
        except Exception:
            logger.exception("could not record SUPERSEDED in the ledger")
