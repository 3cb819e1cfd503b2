"""What operators see of a ledger item, and listings across the indexes (never a Scan)."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from typing import Any

from conveyor.ledger.status import Status
from conveyor.ledger.store import Ledger

PUBLIC_FIELDS = (
    "bucket",
    "key",
    "version_id",
    "etag",
    "size",
    "status",
    "job_id",
    "job_name",
    "transform",
    "output_key",
    "status_reason",
    "error",
    "outcome",
    "output",
    "archive",
    "metrics",
    "exit_code",
    "attempt",
    "log_stream",
    "job_queue",
    "created_at",
    "started_at",
    "stopped_at",
    "updated_at",
    "history",
)
"""The `--json` shape of one version: stable names, None where the ledger has nothing yet."""


def public(item: Mapping[str, Any]) -> dict[str, Any]:
    view = {name: item.get(name) for name in PUBLIC_FIELDS}
    view["key"] = item.get("object_key")
    view["history"] = list(item.get("history", []))
    if view["status"] is None and item.get("claim_token"):
        view["status_reason"] = item.get("last_error") or "claimed, job being submitted"
    return view


def list_versions(
    ledger: Ledger,
    *,
    bucket: str,
    status: Status | None = None,
    key_prefix: str | None = None,
    since: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Newest update first, except a bare prefix listing, which comes in key order."""
    items: Iterable[Mapping[str, Any]]
    if status is not None:
        items = ledger.by_status(status, since=since, key_prefix=key_prefix)
    elif key_prefix:
        items = ledger.under_prefix(bucket, key_prefix, since=since)
    else:
        items = _newest_first(ledger.by_status(s, since=since) for s in Status)
    return [public(item) for item in islice(items, limit)]


def _newest_first(streams: Iterable[Iterator[Mapping[str, Any]]]) -> Iterator[Mapping[str, Any]]:
    """Each status stream is already newest first; merging them keeps that, reading lazily."""
    return heapq.merge(*streams, key=lambda item: item.get("updated_at", ""), reverse=True)
