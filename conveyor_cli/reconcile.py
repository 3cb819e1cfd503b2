"""`conveyor reconcile`: ledger entries whose last job state change never arrived, from Batch."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, Any

import typer

from conveyor import settings
from conveyor.aws import clients, endpoint_override
from conveyor.durations import parse_duration
from conveyor.errors import ConveyorError
from conveyor.events.publisher import Publisher
from conveyor.ledger.store import Ledger
from conveyor.reconcile import reconcile as reconcile_entries
from conveyor_cli.operate import DryRun, JsonFlag, _report
from conveyor_local import state

LOCAL_STACK = (
    "this is the local stack (`conveyor local up`), whose Batch is moto's and would call every "
    "job SUCCEEDED; `conveyor local up` reconciles by itself every minute, asking its executor"
)


def reconcile(
    older_than: Annotated[
        str, typer.Option(help="Only entries unchanged for longer than this (15m, 2h).")
    ] = "15m",
    dry_run: DryRun = False,
    as_json: JsonFlag = False,
) -> None:
    """Ask Batch about jobs the ledger still has in flight, and record what it says.

    Example: [bold]conveyor reconcile --older-than 1h --dry-run[/]
    For each SUBMITTED, PENDING, RUNNABLE, STARTING or RUNNING entry unchanged for longer than
    --older-than, DescribeJobs' answer goes through the same rules as the job's events; a job
    Batch no longer knows becomes FAILED, "job lost". Running it again changes nothing.
    An entry it ends gets its "Object Processed" / "Object Failed" event, as from the completion,
    and so does every end of the last 24 hours (older than --older-than) whose event was never
    put: action "announced" ("would announce" with --dry-run).
    """
    threshold = parse_duration(older_than)
    values = settings.require([settings.LEDGER_TABLE])
    if is_local_stack(os.environ, state.read()):
        raise ConveyorError(LOCAL_STACK)
    dynamodb, batch, events = clients("dynamodb", "batch", "events")
    ledger = Ledger(dynamodb, values[settings.LEDGER_TABLE])
    publisher = Publisher.from_settings(events)
    rows = reconcile_entries(
        ledger, batch, older_than=threshold, dry_run=dry_run, publisher=publisher
    )
    _report(rows, as_json, "reconcile")


def is_local_stack(environ: Mapping[str, str], running: Mapping[str, Any] | None) -> bool:
    """Whether Batch calls would go to a running `conveyor local up`'s moto server."""
    endpoint = endpoint_override("batch", environ)
    if running is None or not endpoint:
        return False
    return endpoint.rstrip("/") == str(running.get("endpoint", "")).rstrip("/")
