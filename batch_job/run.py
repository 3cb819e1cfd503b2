"""One job, in the order that loses nothing.

1. Find the pinned version in staging (or, if it is gone, its archive copy: then the job is done).
2. Decide: write, already written by an earlier run, or superseded by a newer upload.
3. Start the archive copy (it only reads the original) while the transform streams the output.
4. Commit the output on a condition that closes the race with other versions' jobs.
5. Wait for the verified archive copy; only then delete exactly that version from staging.
"""

from __future__ import annotations

import logging
import os
import signal
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from batch_job import transforms
from batch_job.archive import Archived, abort_open_uploads, archive, delete_original, find_archived
from batch_job.config import Job, WorkerConfig
from batch_job.errors import BadInput, Transient
from batch_job.parts import base_part_size
from batch_job.progress import Progress
from batch_job.provenance import Decision, Provenance, clash_reason, decide
from batch_job.record import Recorder
from batch_job.source import PinnedReader, Source, locate, presigned_get
from batch_job.transforms.base import Context, Transform
from batch_job.upload import OutputConflict, OutputUpload
from conveyor.clock import iso
from conveyor.ledger.store import Ledger
from conveyor.naming import output_key
from conveyor.s3 import head_or_none, versions_of_key

logger = logging.getLogger(__name__)

COMMIT_ATTEMPTS = 5
"""Times the output commit re-decides after another job changed the output key."""
URL_LIFETIME = 12 * 3600
"""Seconds a presigned input URL stays valid (ffmpeg reads by URL): longer than any transcode."""


@dataclass(frozen=True)
class Outcome:
    decision: str
    output_key: str | None = None
    archived: Archived | None = None


def run(job: Job, config: WorkerConfig, s3: Any, ledger: Ledger | None) -> Outcome:
    version = job.spec.version
    source = locate(s3, version.bucket, version.key, version.version_id, version.etag)
    if source is None:
        return _already_gone(job, config, s3, ledger)
    recorder = Recorder(ledger, job, source.version_id, source.etag)
    try:
        return _process(job, config, s3, source, recorder)
    except BadInput as err:
        recorder.note(error=str(err), outcome="bad input")
        raise


def _process(
    job: Job, config: WorkerConfig, s3: Any, source: Source, recorder: Recorder
) -> Outcome:
    if source.size == 0:
        raise BadInput("the object is empty (0 bytes): there is nothing to transform")
    transform = transforms.get(job.spec.transform)
    template = job.spec.output_template or transform.output_template
    out_key = output_key(source.key, template, transform.name, source.version_id)
    newer, older = standing_in_staging(s3, source)
    ours = Provenance(
        bucket=source.bucket,
        key=source.key,
        version_id=source.version_id,
        etag=source.etag,
        sequencer=job.spec.version.sequencer,
        last_modified=iso(source.last_modified),
        transform=transform.name,
        job_id=job.job_id,
        older_versions=older,
    )
    existing, existing_etag = _output_provenance(s3, config.output_bucket, out_key)
    decision = decide(ours, existing, newer_in_staging=newer)
    logger.info("output s3://%s/%s: %s", config.output_bucket, out_key, decision.value)
    _refuse_clash(decision, f"s3://{config.output_bucket}/{out_key}", ours, existing)

    with Progress(source.size, config.progress_seconds) as progress:
        context = Context(
            source=source,
            open_stream=lambda: iter(PinnedReader(s3, source, on_read=progress.read)),
            signed_get=lambda: presigned_get(s3, source, URL_LIFETIME),
            progress=progress,
            argv=job.spec.argv,
        )
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="job") as pool:
            # Validation (ffprobe) runs beside the transform's start; nothing leaves the machine
            # (no output byte, no archive copy) until it has accepted the input.
            validation = (
                pool.submit(transform.check, context)
                if decision is Decision.WRITE
                else _accepted()  # nothing will be transformed: nothing to validate
            )
            archiving = pool.submit(_archive_when_valid, validation, s3, source, config)
            try:
                if decision is Decision.WRITE:
                    decision = _write(
                        s3,
                        config,
                        transform,
                        context,
                        out_key,
                        ours,
                        existing_etag,
                        progress,
                        validation,
                    )
                validation.result()
            except BaseException as err:
                wait([archiving])  # no copy outlives the job
                refused = validation.exception() if validation.done() else None
                if refused is not None and refused is not err:
                    raise refused from err  # the validator's reason beats the tool's
                raise
            archived = archiving.result()
        _fault(config, "after-archive-copy")
        metrics = progress.snapshot()

    delete_original(s3, source)
    logger.info("deleted s3://%s/%s version %s", source.bucket, source.key, source.version_id)
    _fault(config, "after-delete")

    facts: dict[str, Any] = {
        "outcome": "written" if decision is Decision.WRITE else decision.value,
        "archive": {
            "bucket": archived.bucket,
            "key": archived.key,
            "version_id": archived.version_id or "",
        },
        "metrics": {
            "input_bytes": source.size,
            "output_bytes": metrics["bytes_written"],
            "seconds": metrics["elapsed_s"],
            "input_mb_per_s": round(source.size / max(metrics["elapsed_s"], 1e-3) / 1e6, 2),
        },
    }
    if decision is Decision.SUPERSEDED:
        recorder.superseded("a newer upload of this key owns the output")
    else:
        facts["output"] = {"bucket": config.output_bucket, "key": out_key}
    recorder.note(**facts)
    logger.info("done", extra={"outcome": facts})
    return Outcome(decision.value, out_key, archived)


def _write(
    s3: Any,
    config: WorkerConfig,
    transform: Transform,
    context: Context,
    out_key: str,
    ours: Provenance,
    replacing: str | None,
    progress: Progress,
    validation: Future[None],
) -> Decision:
    abort_open_uploads(s3, config.output_bucket, out_key)
    with OutputUpload(
        s3,
        config.output_bucket,
        out_key,
        base_part_size=base_part_size(context.source.size, config.min_part_size),
        metadata=ours.metadata(),
        content_type=transform.content_type,
        on_written=progress.written,
        on_started=lambda upload_id: _fault(config, "after-output-start"),
    ) as upload:
        transform.apply(context, GatedSink(upload, validation))
        validation.result()
        upload.finish()
        for _ in range(COMMIT_ATTEMPTS):
            try:
                upload.commit(replacing_etag=replacing)
            except OutputConflict:
                existing, replacing = _output_provenance(s3, config.output_bucket, out_key)
                decision = decide(ours, existing, newer_in_staging=False)
                logger.info("output changed while we wrote it; now: %s", decision.value)
                _refuse_clash(decision, f"s3://{config.output_bucket}/{out_key}", ours, existing)
                if _own_commit(decision, ours, existing):
                    return Decision.WRITE  # a retry of our commit whose response was lost
                if decision is not Decision.WRITE:
                    return decision  # leaving the block aborts our upload
                continue
            _fault(config, "after-output-complete")
            return Decision.WRITE
    raise Transient(f"output {out_key} kept changing under {COMMIT_ATTEMPTS} commits")


def _own_commit(decision: Decision, ours: Provenance, existing: Provenance | None) -> bool:
    """The output that refused our commit is this job's own: written, not found written."""
    return (
        decision is Decision.ALREADY_WRITTEN
        and existing is not None
        and bool(ours.job_id)
        and existing.job_id == ours.job_id
    )


def _refuse_clash(
    decision: Decision, output: str, ours: Provenance, existing: Provenance | None
) -> None:
    """Another source key's output is never replaced: the job ends as bad input, original kept."""
    if decision is Decision.CLASH and existing is not None:
        raise BadInput(clash_reason(output, ours, existing))


class GatedSink:
    """Holds the transform's first byte until the input is validated (re-raising a refusal)."""

    def __init__(self, sink: OutputUpload, validation: Future[None]) -> None:
        self._sink = sink
        self._validation = validation

    def write(self, data: bytes) -> None:
        self._validation.result()
        self._sink.write(data)


def _accepted() -> Future[None]:
    done: Future[None] = Future()
    done.set_result(None)
    return done


def _archive_when_valid(
    validation: Future[None], s3: Any, source: Source, config: WorkerConfig
) -> Archived:
    validation.result()
    return archive(s3, source, config.archive_bucket, single_copy_limit=config.single_copy_limit)


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
        archive={
            "bucket": archived.bucket,
            "key": archived.key,
            "version_id": archived.version_id or "",
        }
    )
    return Outcome("already archived", None, archived)


def _output_provenance(s3: Any, bucket: str, key: str) -> tuple[Provenance | None, str | None]:
    """What the output key holds now: its provenance and ETag, or (None, None)."""
    head = head_or_none(s3, Bucket=bucket, Key=key)
    if head is None:
        return None, None
    # An object Conveyor did not write has no provenance: ours replaces it, on the ETag condition.
    return Provenance.from_metadata(head.get("Metadata", {})), head["ETag"]


def standing_in_staging(s3: Any, source: Source) -> tuple[bool, frozenset[str]]:
    """Whether a newer version of the key waits in staging (its job will own the output), and
    which versions there are older than ours, in the bucket's own order (newest first).

    Without versioning staging holds one version, ours (locate found it): nothing either way.
    """
    if not source.version_id:
        return False, frozenset()
    listed = [v["VersionId"] for v in versions_of_key(s3, source.bucket, source.key)]
    if source.version_id not in listed:
        raise Transient(f"version {source.version_id} of {source.key} left staging while we looked")
    position = listed.index(source.version_id)
    return position > 0, frozenset(listed[position + 1 :])


def _fault(config: WorkerConfig, step: str) -> None:
    """Crash tests: die like a reclaimed Spot instance right after `step`."""
    if config.fault == step:
        logger.warning("fault injection: killing the worker after %s", step)
        os.kill(os.getpid(), signal.SIGKILL)
