"""Conveyor's own events: "Object Processed" / "Object Failed" on EventBridge, one per version
that ends, so other systems learn a file is done by subscribing with a rule (`source: conveyor`).

Pure: the event is built from the ledger item after the change (passed in as a mapping; the
events package never reads the ledger itself).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from conveyor.status import TERMINAL, Status

SOURCE = "conveyor"
PROCESSED = "Object Processed"
FAILED = "Object Failed"
DETAIL_TYPES = (PROCESSED, FAILED)
ENTRY_LIMIT = 256 * 1024
"""PutEvents' entry size limit as every target takes it (CloudWatch Logs: 256 KB an event)."""
ENVELOPE_ROOM = 2 * 1024
"""What EventBridge wraps around the detail as it delivers it (id, account, time, region...)."""
DETAIL_LIMIT = ENTRY_LIMIT - ENVELOPE_ROOM
"""The detail's budget in UTF-8 bytes: a two-hour ladder's outputs list must not break it."""
REASON_LIMIT = 4096
"""Characters of the reason kept: a reason says why, it is not the log."""
MARK = "notified"
"""The ledger field saying which job's end was announced (`mark`): written after PutEvents."""


def detail_type(status: Status) -> str:
    """SUCCEEDED and SUPERSEDED (a newer upload won; the original was archived) are processed."""
    return FAILED if status is Status.FAILED else PROCESSED


def mark(item: Mapping[str, Any]) -> str:
    """What `MARK` holds once the item's current job's end is announced: status and job id."""
    return f"{item.get('status')} {item.get('job_id')}"


def due(item: Mapping[str, Any] | None, job_id: str) -> bool:
    """Whether `item` is the end of job `job_id` and nobody has announced it yet."""
    if not item or item.get("job_id") != job_id or not item.get("status"):
        return False
    return Status(item["status"]) in TERMINAL and item.get(MARK) != mark(item)


def detail(item: Mapping[str, Any], reason: str, limit: int = DETAIL_LIMIT) -> dict[str, Any]:
    """The event's detail: the version, its job, how it ended, and what it left (outputs, output,
    probe, archive as the ledger stores them). Outputs beyond what fits `limit` bytes are left
    out, newest last: `outputs_total` counts them all and `outputs_truncated` says so."""
    outputs = [o for o in item.get("outputs") or [] if isinstance(o, Mapping)]
    body: dict[str, Any] = {
        "bucket": item.get("bucket"),
        "key": item.get("object_key"),
        "version_id": item.get("version_id") or None,
        "etag": item.get("etag") or None,
        "size": item.get("size"),
        "status": item.get("status"),
        "job_id": item.get("job_id"),
        "attempt": item.get("attempt"),
        "transform": item.get("transform"),
        "reason": reason[:REASON_LIMIT] or None,
        "outputs": [],
        "outputs_total": len(outputs),
        "outputs_truncated": False,
        "output": item.get("output") or None,
        "probe": item.get("probe") or None,
        "archive": item.get("archive") or None,
        "at": item.get("updated_at"),
    }
    kept = fitting(outputs, limit - encoded_size(body))
    body["outputs"] = list(outputs[:kept])
    body["outputs_truncated"] = kept < len(outputs)
    return body


def fitting(items: Sequence[Any], room: int) -> int:
    """How many of `items`, from the first, fit `room` more bytes inside an empty JSON list."""
    used = 0
    for count, value in enumerate(items):
        used += encoded_size(value) + (1 if count else 0)  # the comma before every other one
        if used > room:
            return count
    return len(items)


def entry(body: Mapping[str, Any], bus: str) -> dict[str, Any]:
    """The PutEvents entry carrying `body`."""
    return {
        "Source": SOURCE,
        "DetailType": detail_type(Status(body["status"])),
        "Detail": dumps(body),
        "EventBusName": bus,
    }


def entry_size(request: Mapping[str, Any]) -> int:
    """An entry's size as EventBridge counts it (Time: 14 bytes; bus name not counted)."""
    size = 14 + sum(len(str(request.get(k, "")).encode()) for k in ("Source", "DetailType"))
    size += len(str(request.get("Detail", "")).encode())
    return size + sum(len(r.encode()) for r in request.get("Resources", []))


def dumps(value: Any) -> str:
    """Compact JSON, as it is sent and measured."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def encoded_size(value: Any) -> int:
    return len(dumps(value).encode())
