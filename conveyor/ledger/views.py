"""What operators see of a ledger item, and listings across the indexes (never a Scan)."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from typing import Any

from conveyor.ledger.schema import PARTITION_KEY, SORT_KEY
from conveyor.ledger.store import Ledger
from conveyor.status import Status

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
    "outputs",
    "probe",
    "archive",
    "metrics",
    "progress",
    "progress_at",
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


def reason(view: Mapping[str, Any]) -> str:
    """The one reason a person needs for a version in a listing.

    Batch's own reason for a failure ("Essential container in task exited") says nothing: the
    worker's recorded error does. A success needs none; SUPERSEDED keeps the worker's verdict even
    after Batch's SUCCEEDED event overwrote `status_reason`.
    """
    status = view.get("status")
    if status == Status.SUCCEEDED:
        return ""
    if status == Status.FAILED:
        return view.get("error") or view.get("status_reason") or ""
    if status == Status.SUPERSEDED:
        verdicts = [h for h in view.get("history", []) if h.get("status") == Status.SUPERSEDED]
        if verdicts and verdicts[-1].get("reason"):
            return verdicts[-1]["reason"]
    return view.get("status_reason") or ""


def list_versions(
    ledger: Ledger,
    *,
    bucket: str,
    status: Status | None = None,
    key_prefix: str | None = None,
    since: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """The newest `limit` versions, newest update first.

    A bare prefix listing reads the bucket index, which is in key order: every version under the
    prefix is read and only the newest `limit` are kept (memory stays bounded by `limit`).
    """
    items: Iterable[Mapping[str, Any]]
    if status is not None:
        items = islice(ledger.by_status(status, since=since, key_prefix=key_prefix), limit)
    elif key_prefix:
        items = heapq.nlargest(
            limit, ledger.under_prefix(bucket, key_prefix, since=since), key=_recency
        )
    else:
        items = islice(_newest_first(ledger.by_status(s, since=since) for s in Status), limit)
    return [public(item) for item in items]


def _recency(item: Mapping[str, Any]) -> tuple[str, str, str]:
    """Last change first; a claim not yet submitted has only its creation time."""
    moment = item.get("updated_at") or item.get("created_at") or ""
    return moment, item.get(PARTITION_KEY, ""), item.get(SORT_KEY, "")


def _newest_first(streams: Iterable[Iterator[Mapping[str, Any]]]) -> Iterator[Mapping[str, Any]]:
    """Each status stream is already newest first; merging them keeps that, reading lazily."""
    return heapq.merge(*streams, key=lambda item: item.get("updated_at", ""), reverse=True)
