"""Pure rules for moving a ledger item: which event wins, and what the item becomes.

Events arrive late, twice, and out of order. Within one job an event wins only if it is further
along (a later attempt, a later state of the same attempt, or the job's end); between two jobs of
one version the job Batch created later wins, so a resubmission replaces a failed job and a stale
event of the old job changes nothing (nor does any change of a job the entry has moved on from).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conveyor.clock import iso_from_millis
from conveyor.events.batch import JobStateChange
from conveyor.ledger.schema import primary_key
from conveyor.objects import version_ref
from conveyor.status import RANK, TERMINAL, Status

Item = dict[str, Any]

HISTORY_LIMIT = 100
"""Entries kept per version (the newest); keeps an item far below DynamoDB's 400 KB."""

JOB_FIELDS = (
    "job_id",
    "job_name",
    "job_created_at",
    "attempt",
    "exit_code",
    "log_stream",
    "started_at",
    "stopped_at",
    "status_reason",
    "error",
    "outcome",
    "transform",
    "output_key",
    "argv",
)
"""Fields that describe one job (its spec's choices included): cleared when a newer job takes
over the version, so an entry never mixes two jobs' specs."""

CLAIM_FIELDS = ("claim_token", "claim_expires", "last_error")
RETRY_FIELDS = ("retry_started_at",)
"""A retry in progress (`Ledger.begin_retry`): the new job's first state change ends it."""
PROGRESS_FIELDS = ("progress", "progress_at")
"""How far a RUNNING job is (the worker writes them, `Ledger.progress`): every state change
drops them, so they never outlive the run they describe (a retry, a new job, the end)."""
WRITE_TOKEN = "write_token"
"""Names the one conditional put that last wrote an item: a retry recognises its own write by it."""


def outranks(current: Mapping[str, Any] | None, change: JobStateChange) -> bool:
    """Whether `change` may be applied on top of `current`."""
    if not current or not current.get("job_id"):
        return True
    current_status = Status(current["status"])
    if current["job_id"] == change.job_id:
        if current_status in TERMINAL:
            return _completes_superseded(current, change)
        if change.status in TERMINAL:
            # A job ends once, and its end is final whatever attempt Batch numbers it with: one
            # cancelled while waiting for its retry ends on the attempt before (only attempts
            # that ran are listed), below the RUNNABLE of the retry the ledger holds.
            return True
        return (change.attempt, RANK[change.status]) > (
            int(current.get("attempt", 1)),
            RANK[current_status],
        )
    if change.job_id in _left(current):
        return False  # the entry moved on from that job: nothing of it comes back
    if change.created_at is None:
        # The worker's own verdict names its job but not when Batch created it. A job runs only
        # once the one before it ended (a resubmission follows a FAILED job), so on an ended job
        # it names the newer one (whose other changes are still on their way); on a job in
        # flight, an older one.
        return current_status in TERMINAL
    return (change.created_at, change.job_id) > (
        int(current.get("job_created_at", 0)),
        current["job_id"],
    )


def next_status(current: Status | None, incoming: Status) -> Status:
    """SUPERSEDED is the worker's verdict on a job that Batch then calls SUCCEEDED: keep it."""
    if current is Status.SUPERSEDED and incoming is Status.SUCCEEDED:
        return Status.SUPERSEDED
    return incoming


def apply(current: Mapping[str, Any] | None, change: JobStateChange, now: str) -> Item | None:
    """The item after `change`, or None when the change is a duplicate or stale."""
    if not outranks(current, change):
        return None
    dropped = (*CLAIM_FIELDS, *PROGRESS_FIELDS, *RETRY_FIELDS)
    item: Item = {k: v for k, v in (current or {}).items() if k not in dropped}
    same_job = item.get("job_id") == change.job_id
    if not same_job:
        for name in JOB_FIELDS:
            item.pop(name, None)
    params = change.parameters
    identity = identity_fields(
        bucket=params["bucket"],
        key=params["key"],
        version_id=params.get("version_id") or None,
        etag=params.get("etag", ""),
    )
    for name, value in identity.items():
        item.setdefault(name, value)
    if "size" not in item and str(params.get("size", "")).isdigit():
        item["size"] = int(params["size"])
    status = next_status(Status(item["status"]) if "status" in item else None, change.status)
    created_at = change.created_at or item.get("job_created_at")
    updates = {
        "status": status.value,
        "updated_at": now,
        "job_id": change.job_id,
        "job_name": change.job_name,
        "job_queue": change.job_queue,
        "job_definition": change.job_definition,
        "job_created_at": created_at,
        "attempt": change.attempt,
        "status_reason": change.status_reason,
        "exit_code": change.exit_code,
        "log_stream": change.log_stream,
        "started_at": iso_from_millis(change.started_at) if change.started_at else None,
        "stopped_at": iso_from_millis(change.stopped_at) if change.stopped_at else None,
        "transform": params.get("transform"),
        "output_key": params.get("output_key"),
        "sequencer": params.get("sequencer"),
        "argv": params.get("argv"),
    }
    item.update({k: v for k, v in updates.items() if v not in (None, "")})
    if change.status in TERMINAL and change.exit_code is None:
        # How the job ended: without an exit code (its last attempt reclaimed, or never run),
        # not with the one an earlier attempt left, which late changes would otherwise decide.
        item.pop("exit_code", None)
    item.setdefault("created_at", now)
    entry = {
        "at": now,
        "status": change.status.value,
        "job_id": change.job_id,
        "attempt": change.attempt,
        "reason": change.status_reason,
        "exit_code": change.exit_code,
    }
    item["history"] = [
        *item.get("history", []),
        {k: v for k, v in entry.items() if v not in (None, "")},
    ][-HISTORY_LIMIT:]
    item["revision"] = int(item.get("revision", 0)) + 1
    return item


def own_write(stored: Mapping[str, Any] | None, token: str) -> bool:
    """Whether a put refused on its condition had in fact already been applied: its retry after a
    lost response meets the item it wrote, which holds its token, and must not take it for
    someone else's."""
    return stored is not None and bool(token) and stored.get(WRITE_TOKEN) == token


def identity_fields(*, bucket: str, key: str, version_id: str | None, etag: str) -> Item:
    """The fields that name an object version, primary key included."""
    fields: Item = {
        **primary_key(bucket, key, version_ref(version_id, etag)),
        "bucket": bucket,
        "object_key": key,
        "etag": etag.strip('"'),
    }
    if version_id and version_id != "null":
        fields["version_id"] = version_id
    return fields


def _left(current: Mapping[str, Any]) -> set[str]:
    """The jobs the entry has moved on from (its history names every job it held)."""
    return {str(e["job_id"]) for e in current.get("history", []) if e.get("job_id")} - {
        current["job_id"]
    }


def _completes_superseded(current: Mapping[str, Any], change: JobStateChange) -> bool:
    """Batch's SUCCEEDED after the worker said SUPERSEDED still brings the exit code and times."""
    return (
        current["status"] == Status.SUPERSEDED
        and change.status is Status.SUCCEEDED
        and "stopped_at" not in current
    )
