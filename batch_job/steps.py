"""The job's steps once the plan is made, in the order that loses nothing.

The output is written while the original is copied to the archive (the copy only reads it), and
neither sends a byte before the transform's check has accepted the input; only then is the
original deleted from staging, and the facts recorded. `after_step` is called as each step ends:
production passes nothing, the crash tests a SIGKILL.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import Any

from batch_job.archive import Archived, abort_open_uploads, archive, remove_copy
from batch_job.config import Job, WorkerConfig
from batch_job.errors import BadInput, Transient
from batch_job.lookup import find_output
from batch_job.parts import base_part_size
from batch_job.plan import Output, Plan, after_conflict
from batch_job.progress import Progress
from batch_job.provenance import Decision
from batch_job.record import Recorder
from batch_job.source import PinnedReader, Source, locate, presigned_get
from batch_job.transforms.base import Context
from batch_job.tree_runs import METADATA_BYTES, new_run_id
from batch_job.tree_upload import TreeUpload
from batch_job.upload import OutputConflict, OutputUpload

logger = logging.getLogger(__name__)

COMMIT_ATTEMPTS = 5
"""Times the output commit re-decides after another job changed the output key."""


class Step(StrEnum):
    OUTPUT_STARTED = "output-started"
    """Within write_output: the multipart upload exists, parts are on their way (a tree: its
    first object is in the bucket)."""
    OBJECT_PUT = "object-put"
    """A tree output (hls): one more object of the run is in the bucket (every time)."""
    PLAYLISTS_WRITTEN = "playlists-written"
    """A tree output: every object the master references is in the bucket; the master is not."""
    OUTPUT_WRITTEN = "output-written"
    """The output is committed; the archive copy may still run."""
    ARCHIVED = "archived"
    """The output is written (or left to a newer upload) and the archive copy verified."""
    DELETED = "deleted"
    """The original's version is gone from staging."""
    RECORDED = "recorded"


AfterStep = Callable[[Step], None]


@dataclass(frozen=True)
class Written:
    decision: Decision
    archived: Archived
    outputs: list[dict[str, Any]] = field(default_factory=list)
    """Every object this job committed, as the ledger's `outputs` (empty if it wrote none)."""


def no_faults(step: Step) -> None:
    """Production: nothing happens between steps."""


def write_output_and_archive(
    s3: Any,
    config: WorkerConfig,
    job: Job,
    source: Source,
    chosen: Plan,
    progress: Progress,
    after_step: AfterStep,
    recorder: Recorder | None = None,
) -> Written:
    """Run write_output (if the plan writes) beside archive_and_verify; the decision may change
    at the commit, when another job wrote the output meanwhile. The check's probe goes to the
    ledger as soon as it is known, so a job that fails later still shows it."""
    context = make_context(s3, config, job, source, progress)
    writing = chosen.decision is Decision.WRITE
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="job") as pool:
        # The check (ffprobe) runs beside the transform's start; nothing to transform, no check.
        checked = pool.submit(chosen.transform.check, context) if writing else _accepted()
        if recorder is not None:
            checked.add_done_callback(lambda done: note_probe(recorder, done))
        archiving = pool.submit(archive_and_verify, s3, config, source, checked)
        try:
            decision, outputs = chosen.decision, []
            if writing:
                decision, outputs = write_output(s3, config, chosen, context, checked, after_step)
            checked.result()
        except BaseException as err:
            wait([archiving])  # the copy ends with the job; a bad input's is withdrawn
            refused = checked.exception() if checked.done() else None
            error = refused if refused is not None else err  # the check's reason beats the tool's
            if isinstance(error, BadInput):
                withdraw_copy(s3, source, archiving)
            if error is not err:
                raise error from err
            raise
        return Written(decision, archiving.result(), outputs)


def note_probe(recorder: Recorder, checked: Future[Any]) -> None:
    """Record the check's probe (a video's) in the ledger, if it has facts to give."""
    if checked.cancelled() or checked.exception() is not None:
        return
    facts = getattr(checked.result(), "facts", None)
    if callable(facts):
        recorder.note(probe=facts())


def make_context(
    s3: Any, config: WorkerConfig, job: Job, source: Source, progress: Progress
) -> Context:
    """What the transform gets: pinned reads, a presigned read that expires with the job (no
    longer: a URL that leaked into a log must not outlive it), the job's argv, the limits."""
    return Context(
        source=source,
        open_stream=lambda: iter(PinnedReader(s3, source, on_read=progress.read)),
        signed_get=cache(lambda: presigned_get(s3, source, config.url_lifetime)),
        progress=progress,
        argv=job.spec.argv,
        limits=config.limits,
    )


def write_output(
    s3: Any,
    config: WorkerConfig,
    chosen: Plan,
    context: Context,
    checked: Future[Any],
    after_step: AfterStep,
) -> tuple[Decision, list[dict[str, Any]]]:
    """Stream the transform into a multipart upload, committed on a condition (nothing there, or
    what the plan decided to replace); leaving without a commit aborts the upload. Returns how
    the job ends and what it committed (the ledger's `outputs`)."""
    if getattr(chosen.transform, "writes_tree", False):
        return write_tree(s3, config, chosen, context, checked, after_step)
    output = chosen.output
    abort_open_uploads(s3, output.bucket, output.key)
    with OutputUpload(
        s3,
        output.bucket,
        output.key,
        base_part_size=base_part_size(context.source.size, config.min_part_size),
        metadata=chosen.ours.metadata(),
        content_type=chosen.transform.content_type,
        on_written=context.progress.written,
        on_started=lambda upload_id: after_step(Step.OUTPUT_STARTED),
        max_bytes=config.max_output_bytes,
    ) as upload:
        sink = GatedSink(upload, checked)
        chosen.transform.apply(context, sink, checked)
        checked.result()
        upload.finish()
        decision = _commit(s3, upload, chosen)
        if not upload.committed:
            return decision, []
        after_step(Step.OUTPUT_WRITTEN)
        file = {"bucket": output.bucket, "key": output.key, "role": "file", "bytes": sink.bytes}
        return decision, [file]


def write_tree(
    s3: Any,
    config: WorkerConfig,
    chosen: Plan,
    context: Context,
    checked: Future[Any],
    after_step: AfterStep,
) -> tuple[Decision, list[dict[str, Any]]]:
    """A tree output (hls): the transform puts its objects under a run directory of its own,
    then the master is committed on the same condition as a single file (TreeUpload)."""
    output, source = chosen.output, context.source

    def on_put(count: int) -> None:
        if count == 1:
            after_step(Step.OUTPUT_STARTED)
        after_step(Step.OBJECT_PUT)

    with TreeUpload(
        s3,
        output.bucket,
        output.key,
        new_run_id(source.key, source.version_id or source.etag),
        metadata=chosen.ours.metadata(reserve=METADATA_BYTES),
        content_type=chosen.transform.content_type,
        on_written=context.progress.written,
        on_put=on_put,
        on_ready=lambda: after_step(Step.PLAYLISTS_WRITTEN),
        max_bytes=config.max_output_bytes,
    ) as tree:
        chosen.transform.apply(context, tree, checked)
        checked.result()
        decision = _commit(s3, tree, chosen)
        if not tree.committed:
            return decision, []
        after_step(Step.OUTPUT_WRITTEN)
        return decision, tree.outputs


def _commit(s3: Any, upload: OutputUpload | TreeUpload, chosen: Plan) -> Decision:
    """Commit; when another job changed the output meanwhile, decide again on what it holds."""
    output = chosen.output
    for _ in range(COMMIT_ATTEMPTS):
        if isinstance(upload, TreeUpload):
            upload.replaced_run = output.run  # named on the master, removed after (tree_runs)
        try:
            upload.commit(replacing_etag=output.etag)
        except OutputConflict:
            output = find_output(s3, output.bucket, output.key)
            ended = after_conflict(chosen.ours, output)
            logger.info(
                "output changed while we wrote it; now: %s",
                "commit again" if ended is None else ended.value,
            )
            if ended is Decision.WRITE and isinstance(upload, TreeUpload):
                return _own_tree(upload, output)
            if ended is not None:
                return ended  # leaving the upload's block aborts it
            continue
        return Decision.WRITE
    raise Transient(f"output {output.key} kept changing under {COMMIT_ATTEMPTS} commits")


def _own_tree(tree: TreeUpload, output: Output) -> Decision:
    """The master that refused our commit is this job's own (the response was lost): if it
    references this very run, the run is committed (not to be deleted); if an earlier attempt's,
    that one stands and ours is dropped."""
    if output.run == tree.run_id:
        tree.found_committed()
        return Decision.WRITE
    return Decision.ALREADY_WRITTEN


def archive_and_verify(
    s3: Any, config: WorkerConfig, source: Source, checked: Future[Any]
) -> Archived:
    """Copy the original to the archive and prove the copy, once the check accepted the input."""
    checked.result()
    return archive(s3, source, config.archive_bucket, single_copy_limit=config.single_copy_limit)


def withdraw_copy(s3: Any, source: Source, archiving: Future[Archived]) -> None:
    """The input proved bad after it was archived: remove the copy, since a copy in the archive
    reads as done (to a re-run once staging lost the version, to `conveyor upload`, to
    `reprocess`). Safe only while the original is in staging, looked at just before.

    A copy an earlier, killed run of this very version made holds the same bad bytes: it goes too.
    Without versioning a copy is found by ETag alone, and may be an earlier upload's of the same
    bytes whose job finished: that one stays.
    """
    if archiving.exception() is not None:
        return  # nothing was archived: the check refused the input, or the copy failed
    archived = archiving.result()
    if archived.reused and not source.version_id:
        logger.info("archive copy %s may be an earlier upload's: kept", archived.etag)
        return
    if locate(s3, source.bucket, source.key, source.version_id, source.etag) is None:
        logger.warning("the original left staging meanwhile: its archive copy stays")
        return
    remove_copy(s3, archived)
    logger.info("removed the bad input's archive copy (version %s)", archived.version_id)


def record(recorder: Recorder, decision: Decision, facts: dict[str, Any]) -> None:
    """Tell the ledger how the job ended; a superseded job also gets that status."""
    if decision is Decision.SUPERSEDED:
        recorder.superseded("a newer upload of this key owns the output")
    recorder.note(**facts)
    logger.info("done", extra={"outcome": facts})


class GatedSink:
    """Holds the transform's first byte until the input is validated (re-raising a refusal)."""

    def __init__(self, sink: OutputUpload, checked: Future[Any]) -> None:
        self._sink = sink
        self._checked = checked
        self.bytes = 0
        """What the transform wrote: the output's size."""

    def write(self, data: bytes) -> None:
        self._checked.result()
        self._sink.write(data)
        self.bytes += len(data)


def _accepted() -> Future[Any]:
    done: Future[Any] = Future()
    done.set_result(None)
    return done
