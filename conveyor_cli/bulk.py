"""The bulk paths of `conveyor resubmit` and `reprocess` (above --array-threshold): the
commands' settings and clients handed to conveyor.bulk, with a progress bar on stderr."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any

import typer

from conveyor import settings
from conveyor.aws import client
from conveyor.bulk.arrays import ArrayJobs
from conveyor.bulk.reprocess import reprocess_many
from conveyor.bulk.resubmit import Where, resubmit_many
from conveyor.clock import iso, utcnow
from conveyor.durations import since as since_moment
from conveyor.ledger.entries import Entry
from conveyor.ledger.store import Ledger
from conveyor.routing import Route, parse_routes, route
from conveyor.status import Status
from conveyor_cli.progress import progress_bar

Choose = Callable[[Any, Ledger | None, dict[str, str], str], tuple[str | None, str]]
"""Which archive version of a key to copy back (operate's `_newest_archived`)."""

ArrayThreshold = Annotated[
    int,
    typer.Option(
        min=1,
        help="Above this many versions, submit Batch array jobs over a manifest instead of "
        "one job each (default: one second of SubmitJob's quota).",
    ),
]


def failed_entries(ledger: Ledger, since: str | None, key_prefix: str | None) -> Iterator[Entry]:
    """FAILED entries, whole, from the status index (no read per entry)."""
    moment = iso(since_moment(since, utcnow())) if since else None
    return ledger.by_status(Status.FAILED, since=moment, key_prefix=key_prefix)


def resubmit_bulk(
    ledger: Ledger,
    s3: Any,
    batch: Any,
    values: dict[str, str],
    entries: list[Entry],
    routes: list[Route] | None,
    dry_run: bool,
) -> list[dict[str, Any]]:
    """Array jobs over manifests for `entries` (named ones and FAILED ones, once each)."""
    archive = settings.require([settings.ARCHIVE_BUCKET])[settings.ARCHIVE_BUCKET]
    unique = list({(e["pk"], e["sk"]): e for e in entries}.values())
    with progress_bar() as shown:
        return resubmit_many(
            unique,
            s3=s3,
            ledger=ledger,
            jobs=ArrayJobs(batch),
            batch=batch,
            where=Where(
                staging_bucket=values[settings.STAGING_BUCKET],
                archive_bucket=archive,
                job_queue=values[settings.JOB_QUEUE],
                job_definition=values[settings.JOB_DEFINITION],
            ),
            routes=routes,
            dry_run=dry_run,
            progress=shown,
        )


def reprocess_bulk(
    s3: Any,
    dynamodb: Any,
    values: dict[str, str],
    archived: list[tuple[str, int]],
    transform: str | None,
    dry_run: bool,
    *,
    choose: Choose,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Array jobs over the copies (see conveyor.bulk.reprocess); the keys left to the
    one-by-one path come back. The routes the trigger reads decide where --transform does not."""
    more = settings.require([settings.LEDGER_TABLE, settings.JOB_QUEUE, settings.JOB_DEFINITION])
    ledger = Ledger(dynamodb, more[settings.LEDGER_TABLE])
    routes = parse_routes(settings.optional(settings.ROUTES))

    def route_of(key: str, size: int) -> Route | None:
        if transform is not None:
            return Route(match=key, transform=transform)
        return route(key, size, routes)

    batch = client("batch")
    with progress_bar() as shown:
        return reprocess_many(
            archived,
            choose=lambda key: choose(s3, ledger, values, key),
            route_of=route_of,
            s3=s3,
            ledger=ledger,
            jobs=ArrayJobs(batch),
            where=Where(
                staging_bucket=values[settings.STAGING_BUCKET],
                archive_bucket=values[settings.ARCHIVE_BUCKET],
                job_queue=more[settings.JOB_QUEUE],
                job_definition=more[settings.JOB_DEFINITION],
            ),
            dry_run=dry_run,
            progress=shown,
        )
