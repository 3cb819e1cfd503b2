"""`conveyor events`: the "Object Processed" / "Object Failed" events other systems received,
read back from the log group the stack's rule copies them to."""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Annotated, Any

import typer
from botocore.exceptions import ClientError
from rich.console import Console

from conveyor import settings
from conveyor.aws import client
from conveyor.clock import millis, utcnow
from conveyor.durations import since as since_moment
from conveyor.errors import NotFound
from conveyor.events.outcome import DETAIL_TYPES, FAILED, SOURCE
from conveyor.s3 import error_code
from conveyor_cli import guard
from conveyor_cli.render import grid_table, moment, short, status_text
from conveyor_cli.text import literal, to_json

Event = dict[str, Any]


def events(
    key_prefix: Annotated[
        str | None, typer.Option(help="Only keys that start with this (staging bucket).")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Put within this long (2h, 1d) or since an ISO time.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many events.")] = 50,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the events as delivered (a JSON list).")
    ] = False,
) -> None:
    """List the events Conveyor put on EventBridge when files finished, newest first.

    Example: [bold]conveyor events --since 1h[/], or [bold]conveyor events --json --limit 1[/]
    for the payload a rule (or the webhook) receives.
    """
    key_prefix = guard.not_empty(key_prefix, "--key-prefix")
    since = guard.not_empty(since, "--since")
    group = settings.require([settings.EVENTS_LOG_GROUP])[settings.EVENTS_LOG_GROUP]
    start = millis(since_moment(since, utcnow())) if since else None
    found = newest(conveyor_events(logged(client("logs"), group, start), key_prefix), limit)
    if as_json:
        typer.echo(to_json(found))
    else:
        table(found)


def logged(logs: Any, group: str, start: int | None) -> Iterator[str]:
    """Every message in `group` (from `start`, epoch ms); NotFound when the group is missing."""
    request: dict[str, Any] = {"logGroupName": group}
    if start is not None:
        request["startTime"] = start
    try:
        for page in logs.get_paginator("filter_log_events").paginate(**request):
            for event in page.get("events", []):
                yield str(event.get("message", ""))
    except ClientError as err:
        if error_code(err) != "ResourceNotFoundException":
            raise
        raise NotFound(
            f"the events log group {group} does not exist: is this stack's events rule deployed "
            "(or the local stack started by this version)?"
        ) from err


def conveyor_events(messages: Iterable[str], key_prefix: str | None = None) -> Iterator[Event]:
    """The messages that are Conveyor's events (about keys under `key_prefix`), parsed."""
    for message in messages:
        try:
            event = json.loads(message)
        except ValueError:
            continue
        if not isinstance(event, dict) or event.get("source") != SOURCE:
            continue
        if event.get("detail-type") not in DETAIL_TYPES or not isinstance(
            event.get("detail"), dict
        ):
            continue
        if key_prefix and not str(event["detail"].get("key", "")).startswith(key_prefix):
            continue
        yield event


def newest(found: Iterable[Event], limit: int) -> list[Event]:
    """The `limit` newest, newest first (by when the version ended, then when it was put)."""
    return heapq.nlargest(
        limit, found, key=lambda e: (str(e["detail"].get("at") or ""), str(e.get("time", "")))
    )


def row(event: Mapping[str, Any]) -> dict[str, str]:
    """What a person reads of one event: outputs for a success, the reason for a failure."""
    detail = event["detail"]
    if event.get("detail-type") == FAILED:
        result = str(detail.get("reason") or "")
    else:
        total = detail.get("outputs_total", len(detail.get("outputs") or []))
        result = f"{total} output{'' if total == 1 else 's'}"
        if detail.get("status") != "SUCCEEDED" and detail.get("reason"):
            result += f"; {detail['reason']}"
    return {
        "time": moment(detail.get("at") or event.get("time")),
        "type": str(event.get("detail-type", "")),
        "status": str(detail.get("status") or ""),
        "key": str(detail.get("key") or ""),
        "version": short(detail.get("version_id") or detail.get("etag")),
        "job": str(detail.get("job_id") or ""),
        "result": result,
    }


def table(found: Sequence[Mapping[str, Any]], console: Console | None = None) -> None:
    console = console or Console()
    if not found:
        console.print("No events match.")
        return
    grid = grid_table()
    for name in ("time", "type", "status", "key", "version", "job", "outputs / reason"):
        grid.add_column(name, overflow="fold", no_wrap=name in ("time", "type", "status"))
    for event in found:
        cells = row(event)
        grid.add_row(
            literal(cells["time"]),
            literal(cells["type"]),
            status_text(cells["status"]),
            literal(cells["key"]),
            literal(cells["version"]),
            literal(cells["job"]),
            literal(cells["result"]),
        )
    console.print(grid)
