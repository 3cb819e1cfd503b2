"""What one job will do, decided from what the worker found, with no I/O: write the output, leave
it (superseded by a newer upload, or already written by an earlier run of this version), or
refuse (another key's output holds the name); and which facts the ledger gets at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from batch_job.archive import Archived
from batch_job.config import Job
from batch_job.errors import BadInput
from batch_job.provenance import Decision, Provenance, clash_reason, decide
from batch_job.source import Source
from batch_job.transforms.base import Transform
from batch_job.tree_runs import RUN_ID_LENGTH, tree_dir
from conveyor.clock import iso
from conveyor.naming import MAX_KEY_BYTES, output_key


@dataclass(frozen=True)
class Staging:
    """What staging holds besides our version when the job looks."""

    newer: bool
    """A newer version of the key waits there: its job will own the output."""
    older: frozenset[str]
    """The versions older than ours there, recorded in the output's provenance."""


@dataclass(frozen=True)
class Output:
    """The output key as the job found it."""

    bucket: str
    key: str
    provenance: Provenance | None = None
    """Who wrote what it holds; None when it is empty or holds what Conveyor did not write."""
    etag: str | None = None
    """What a commit replaces (If-Match), or None when the key holds nothing (If-None-Match)."""
    run: str | None = None
    """For a tree output (`hls`): the run directory the master references (batch_job.tree_runs)."""
    size: int | None = None
    """What it holds, in bytes (None when it holds nothing)."""

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


@dataclass(frozen=True)
class Plan:
    decision: Decision
    transform: Transform[Any]
    output: Output
    ours: Provenance
    """The provenance the output carries when this job writes it."""


def refuse_empty(source: Source) -> None:
    """An empty object is bad input whatever the transform: there is nothing to transform."""
    if source.size == 0:
        raise BadInput("the object is empty (0 bytes): there is nothing to transform")


def output_name(job: Job, source: Source, transform: Transform[Any]) -> str:
    """Where the output goes: the job's template, else the transform's default; a tree's master
    must leave room for the keys of its run (refuse_no_room)."""
    template = job.spec.output_template or transform.output_template
    key = output_key(source.key, template, transform.name, source.version_id)
    longest = getattr(transform, "longest_object", None)
    if longest is not None:
        refuse_no_room(key, longest)
    return key


def refuse_no_room(master_key: str, longest_object: str) -> None:
    """A tree's objects live deeper than its master (`<master folder><run id>/<longest_object>`):
    refused before anything is written, rather than failing on S3's key limit mid-run."""
    folder = tree_dir(master_key)
    deepest = len(folder.encode()) + RUN_ID_LENGTH + 1 + len(longest_object.encode())
    if deepest > MAX_KEY_BYTES:
        raise BadInput(
            f"output key {master_key[:80]!r}... leaves no room for its run: its folder "
            f"({len(folder.encode())} bytes) plus '<run id>/{longest_object}' makes "
            f"{deepest}-byte keys, more than S3's {MAX_KEY_BYTES}; shorten the source key "
            "or the route's output template"
        )


def plan(
    job: Job, source: Source, transform: Transform[Any], staging: Staging, output: Output
) -> Plan:
    """Newest upload wins (batch_job.provenance); an output naming another key is refused."""
    ours = Provenance(
        bucket=source.bucket,
        key=source.key,
        version_id=source.version_id,
        etag=source.etag,
        sequencer=job.spec.version.sequencer,
        last_modified=iso(source.last_modified),
        transform=transform.name,
        job_id=job.job_id,
        older_versions=staging.older,
    )
    decision = decide(ours, output.provenance, newer_in_staging=staging.newer)
    refuse_clash(decision, ours, output)
    return Plan(decision, transform, output, ours)


def after_conflict(ours: Provenance, output: Output) -> Decision | None:
    """Our commit was refused because the output changed: None to commit again on what it holds
    now; WRITE when what it holds is our own commit (its response was lost on the way back);
    else how the job ends (superseded, already written). Another key's output is refused."""
    decision = decide(ours, output.provenance, newer_in_staging=False)
    refuse_clash(decision, ours, output)
    if decision is Decision.WRITE:
        return None
    if _own_commit(decision, ours, output.provenance):
        return Decision.WRITE
    return decision


def refuse_clash(decision: Decision, ours: Provenance, output: Output) -> None:
    """Another source key's output is never replaced: the job ends as bad input, original kept."""
    if decision is Decision.CLASH and output.provenance is not None:
        raise BadInput(clash_reason(output.uri, ours, output.provenance))


def _own_commit(decision: Decision, ours: Provenance, existing: Provenance | None) -> bool:
    """The output that refused our commit is this job's own: written, not found written."""
    return (
        decision is Decision.ALREADY_WRITTEN
        and existing is not None
        and bool(ours.job_id)
        and existing.job_id == ours.job_id
    )


def facts(
    decision: Decision,
    source: Source,
    output: Output,
    archived: Archived,
    metrics: dict[str, Any],
    outputs: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """What the ledger gets once the original is archived and gone from staging: the outcome,
    the output (unless superseded: a newer upload's job owns it), the archive copy, the metrics,
    and every object this job wrote (`outputs`: the file, or a tree's master, playlists...), or,
    already written by an earlier run of this version, every object of that run's that stands."""
    recorded: dict[str, Any] = {
        "outcome": "written" if decision is Decision.WRITE else decision.value,
        "archive": archive_fact(archived),
        "metrics": {
            "input_bytes": source.size,
            "output_bytes": metrics["bytes_written"],
            "seconds": metrics["elapsed_s"],
            "input_mb_per_s": round(source.size / max(metrics["elapsed_s"], 1e-3) / 1e6, 2),
        },
    }
    if decision is not Decision.SUPERSEDED:
        recorded["output"] = {"bucket": output.bucket, "key": output.key}
    if decision in (Decision.WRITE, Decision.ALREADY_WRITTEN) and outputs:
        recorded["outputs"] = outputs
    return recorded


def archive_fact(archived: Archived) -> dict[str, str]:
    return {
        "bucket": archived.bucket,
        "key": archived.key,
        "version_id": archived.version_id or "",
    }
