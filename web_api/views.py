"""What the page sees of one file, decided without I/O from the ledger's entries of its key and
what staging holds of it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from conveyor.clock import iso
from conveyor.ledger.entries import Entry, Location
from conveyor.ledger.views import public, reason
from conveyor.objects import normalize_etag
from conveyor.operations import refusal
from conveyor.status import Status
from web_api.keys import FileKey

UPLOADED = "UPLOADED"
"""In staging, and the pipeline has not started on it (the trigger has not seen it yet)."""

Staged = Mapping[str, Any]
"""One object of a ListObjectsV2 answer: Key, Size, ETag, LastModified."""


def newest(entries: Iterable[Entry]) -> Entry | None:
    """The entry of the key's newest upload: the ledger's last-created version."""
    return max(entries, key=lambda e: (e.get("created_at") or "", e.updated_at), default=None)


def seen(entry: Entry | None, entries: Iterable[Entry], staged: Staged | None) -> bool:
    """Whether the pipeline knows what the person uploaded last: an entry, and none newer in
    staging (an upload the ledger has no entry of, by ETag, is not seen yet)."""
    if entry is None:
        return False
    if staged is None:
        return True
    etag = normalize_etag(staged["ETag"])
    return any(e.etag == etag for e in entries)


def file_view(file: FileKey, entries: list[Entry], staged: Staged | None) -> dict[str, Any]:
    """The file as the page shows it (its `output` is filled in by `files`, which reads S3)."""
    entry = newest(entries)
    known: Mapping[str, Any] = entry or {}
    landed = iso(staged["LastModified"]) if staged is not None else None
    view: dict[str, Any] = {
        "id": file.file_id,
        "key": file.key,
        "name": file.name,
        "size": staged["Size"] if staged is not None else known.get("size"),
        "uploaded_at": landed or known.get("created_at"),
        "status": UPLOADED,
        "progress": None,
        "reason": None,
        "job_id": None,
        "updated_at": landed,
        "output": None,
        "can_retry": False,
    }
    if entry is None or not seen(entry, entries, staged):
        return view
    status = entry.status
    in_staging = staged is not None and normalize_etag(staged["ETag"]) == entry.etag
    view.update(
        status=status.value if status else UPLOADED,
        progress=_progress(entry),
        reason=reason(public(entry)) or None,
        job_id=entry.job_id,
        updated_at=entry.updated_at or view["updated_at"],
        can_retry=refusal(entry, in_staging) is None,
    )
    return view


def history(entries: Iterable[Entry]) -> list[dict[str, Any]]:
    """Every version of the key the ledger knows, newest first."""
    ordered = sorted(entries, key=lambda e: (e.get("created_at") or "", e.updated_at))
    return [
        {
            "version_id": e.version_id,
            "status": e.status.value if e.status else UPLOADED,
            "reason": reason(public(e)) or None,
            "job_id": e.job_id,
            "updated_at": e.updated_at or None,
        }
        for e in reversed(ordered)
    ]


def output_of(entry: Entry | None) -> Location | None:
    """Where the output of a succeeded job is, if it wrote (or found) one."""
    if entry is None or entry.status is not Status.SUCCEEDED:
        return None
    return entry.output


def recorded_output_size(entry: Entry) -> int | None:
    """The output's size as the worker recorded it: only a job that wrote the output knows it
    (one that found it already written wrote nothing)."""
    written = (entry.get("metrics") or {}).get("output_bytes")
    if entry.get("outcome") == "written" and isinstance(written, int) and written > 0:
        return written
    return None


def attachment(name: str) -> str:
    """A Content-Disposition that saves the file as `name`, whatever its characters (RFC 6266)."""
    return f"attachment; filename*=UTF-8''{quote(name, safe='')}"


def _progress(entry: Entry) -> float | None:
    value = entry.get("progress")
    if entry.status is not Status.RUNNING or not isinstance(value, int | float):
        return None
    return float(value)
