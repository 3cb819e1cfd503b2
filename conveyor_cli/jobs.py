"""`conveyor jobs` and `conveyor show`: what happened to my file?"""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer

from conveyor import settings
from conveyor.aws import client
from conveyor.clock import iso, utcnow
from conveyor.durations import since as since_moment
from conveyor.errors import NotFound
from conveyor.ledger.store import Ledger
from conveyor.ledger.views import list_versions, public
from conveyor.status import Status
from conveyor_cli import guard, render
from conveyor_cli.text import to_json

JOB_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(:\d+)?$", re.I)
"""Batch job ids are UUIDs (array children add `:index`)."""

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def register(app: typer.Typer) -> None:
    app.command("jobs")(jobs)
    app.command("show")(show)


def jobs(
    status: Annotated[
        Status | None, typer.Option(case_sensitive=False, help="Only versions in this status.")
    ] = None,
    key_prefix: Annotated[
        str | None, typer.Option(help="Only keys that start with this (staging bucket).")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Updated within this long (2h, 1d) or since an ISO time.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many rows.")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """List object versions and their jobs, newest first.

    Example: [bold]conveyor jobs --status FAILED --since 1d[/]
    """
    key_prefix = guard.not_empty(key_prefix, "--key-prefix")
    since = guard.not_empty(since, "--since")
    values = settings.require([settings.LEDGER_TABLE, settings.STAGING_BUCKET])
    rows = list_versions(
        _ledger(values),
        bucket=values[settings.STAGING_BUCKET],
        status=status,
        key_prefix=key_prefix,
        since=iso(since_moment(since, utcnow())) if since else None,
        limit=limit,
    )
    if as_json:
        typer.echo(to_json(rows))
    else:
        render.jobs_table(rows)


def show(
    target: Annotated[
        str, typer.Argument(help="A key in the staging bucket, s3://B/K, or a job id.")
    ],
    as_json: JsonFlag = False,
) -> None:
    """Everything the ledger knows about one object (all its versions) or one job.

    Example: [bold]conveyor show "videos/cat.mov"[/]
    """
    values = settings.require([settings.LEDGER_TABLE, settings.STAGING_BUCKET])
    ledger = _ledger(values)
    if JOB_ID.match(target):
        items = ledger.find_job(target)
        what = f"job {target}"
    else:
        bucket, key = _bucket_and_key(target, values[settings.STAGING_BUCKET])
        items = ledger.versions_of(bucket, key)
        what = f"s3://{bucket}/{key}"
    if not items:
        raise NotFound(f"the ledger has no record of {what}")
    rows = [public(item) for item in items]
    if as_json:
        typer.echo(to_json(rows))
    else:
        render.versions(rows)


def _ledger(values: dict[str, str]) -> Ledger:
    return Ledger(client("dynamodb"), values[settings.LEDGER_TABLE])


def _bucket_and_key(target: str, default_bucket: str) -> tuple[str, Any]:
    if target.startswith("s3://"):
        bucket, _, key = target[len("s3://") :].partition("/")
        return bucket, key
    return default_bucket, target
