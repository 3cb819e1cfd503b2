"""One job, as its steps, in the order that loses nothing.

1. Find the pinned version in staging (or, if it is gone, its archive copy: then the job is done).
2. Plan: write, already written by an earlier run, or superseded by a newer upload (lookup, plan).
3. Write the output, committed on a condition that closes the race with other versions' jobs,
   while the original is copied to the archive and the copy verified (steps).
4. Only then delete exactly that version from staging, and record what happened.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from batch_job import plan
from batch_job.archive import delete_original, find_archived
from batch_job.config import Job, WorkerConfig
from batch_job.errors import BadInput
from batch_job.ledger_progress import LedgerProgress
from batch_job.lookup import look
from batch_job.progress import Progress
from batch_job.provenance import Decision
from batch_job.record import Recorder
from batch_job.source import locate
from batch_job.standing import standing_outputs
from batch_job.steps import AfterStep, Step, no_faults, record, write_output_and_archive
from batch_job.tree_runs import tidy
from conveyor.ledger.store import Ledger

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    decision: str
    """What the run did: write, already written, superseded, already archived."""


def run(
    job: Job,
    config: WorkerConfig,
    s3: Any,
    ledger: Ledger | None,
    *,
    after_step: AfterStep = no_faults,
) -> Outcome:
    """Run the job; `after_step` is called as each step ends (the crash tests kill it there)."""
    version = job.spec.version
    source = locate(s3, version.bucket, version.key, version.version_id, version.etag)
    if source is None:
        return _already_gone(job, config, s3, ledger)
    recorder = Recorder(ledger, job, source.version_id, source.etag)
    try:
        chosen = look(s3, config, job, source)
        with (
            Progress(source.size, config.progress_seconds) as progress,
            LedgerProgress(progress, recorder.progress, config.ledger_progress_seconds),
        ):
            written = write_output_and_archive(
                s3, config, job, source, chosen, progress, after_step, recorder
            )
            if getattr(chosen.transform, "writes_tree", False):
                tidy(
                    s3,
                    chosen.output.bucket,
                    chosen.output.key,
                    source.key,
                    source.version_id or source.etag,
                )
            after_step(Step.ARCHIVED)
            metrics = progress.snapshot()
        decision, outputs = written.decision, written.outputs
        if decision is Decision.ALREADY_WRITTEN:
            outputs = standing_outputs(s3, chosen)  # read while staging still has the version
        delete_original(s3, source)
        after_step(Step.DELETED)
        facts = plan.facts(decision, source, chosen.output, written.archived, metrics, outputs)
        record(recorder, decision, facts)
        after_step(Step.RECORDED)
    except BadInput as err:
        recorder.note(error=str(err), outcome="bad input")
        raise
    return Outcome(decision.value)


def _already_gone(job: Job, config: WorkerConfig, s3: Any, ledger: Ledger | None) -> Outcome:
    """Staging no longer holds the version: done if the archive does, else the input is lost."""
    version = job.spec.version
    archived = find_archived(
        s3, config.archive_bucket, version.key, version.version_id, version.etag
    )
    if archived is None:
        raise BadInput(
            f"{version.uri} version {version.version_id or version.etag} is gone from "
            "staging and is not in the archive"
        )
    logger.info("version already archived by an earlier run (%s): done", archived.version_id)
    Recorder(ledger, job, version.version_id, version.etag or archived.etag).note(
        archive=plan.archive_fact(archived)
    )
    return Outcome("already archived")
