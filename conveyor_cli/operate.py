"""`conveyor resubmit`, `reprocess`, `sweep` and `logs`: putting failures right."""

from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from conveyor import manifest, settings
from conveyor.aws import client, clients
from conveyor.bulk.copyback import archived_head, copy_back
from conveyor.bulk.plan import DEFAULT_THRESHOLD, goes_bulk
from conveyor.clock import iso, utcnow
from conveyor.durations import parse_duration
from conveyor.durations import since as since_moment
from conveyor.errors import ConveyorError, InProgress, NotFound
from conveyor.ledger.entries import Entry
from conveyor.ledger.schema import primary_key
from conveyor.ledger.store import Ledger
from conveyor.ledger.views import list_versions
from conveyor.metadata import SOURCE_VERSION
from conveyor.objects import ObjectVersion
from conveyor.operations import refusal, stranded_reason
from conveyor.routing import Route, check_transform, parse_routes, route
from conveyor.s3 import head_or_none, holds_version
from conveyor.status import Status
from conveyor.submission import resubmit as resubmit_item
from conveyor_cli import guard
from conveyor_cli.bulk import ArrayThreshold, failed_entries, reprocess_bulk, resubmit_bulk
from conveyor_cli.jobs import JOB_ID
from conveyor_cli.render import MEDIUM, grid_table, short
from conveyor_cli.text import literal, to_json
from trigger_lambda.factory import build_trigger

DEFAULT_LOG_GROUP = "/aws/batch/job"
"""Where Batch sends container logs unless the job definition names a group."""
DryRun = Annotated[bool, typer.Option(help="Say what would happen; change nothing.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
SHORT_IDS = {"version_id": 12, "old_job": 9, "new_job": 9, "job_id": 9}
"""Below `render.MEDIUM` columns ids are shortened, so the rest keeps room (--json has them all)."""


def resubmit(
    targets: Annotated[list[str] | None, typer.Argument(help="Job ids or staging keys.")] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Every FAILED version.")] = False,
    since: Annotated[
        str | None, typer.Option(help="With --failed: failed within (2h, 1d).")
    ] = None,
    key_prefix: Annotated[str | None, typer.Option(help="With --failed: keys under.")] = None,
    everything: guard.AllFlag = False,
    yes: guard.YesFlag = False,
    reroute: Annotated[
        bool,
        typer.Option(
            help="Route again with the current CONVEYOR_ROUTES (after fixing a route), "
            "instead of repeating the last job."
        ),
    ] = False,
    dry_run: DryRun = False,
    as_json: JsonFlag = False,
    array_threshold: ArrayThreshold = DEFAULT_THRESHOLD,
) -> None:
    """Submit a new job, with the same parameters, for failed versions still in staging.

    Example: [bold]conveyor resubmit --failed --since 1d[/]  or  [bold]conveyor resubmit JOB_ID[/]
    The new job is linked to the old one in the ledger; what cannot be resubmitted is refused
    with the reason. --failed takes --since or --key-prefix, or --all for every FAILED version.
    A job carries everything its route gave it (transform, output template, argv): after fixing
    a route, --reroute lets the current routes decide again. Above --array-threshold versions
    they go as Batch array jobs (one SubmitJob per 10,000); running the same command again
    after it was interrupted submits nothing twice.
    """
    if everything and not failed:
        raise ConveyorError("--all goes with --failed (every FAILED version)")
    if not targets and not failed:
        raise ConveyorError("name job ids or keys, or use --failed")
    if failed:
        _guard_failed(since, key_prefix, everything, yes=yes, dry_run=dry_run)
    values = settings.require(
        [
            settings.LEDGER_TABLE,
            settings.STAGING_BUCKET,
            settings.JOB_QUEUE,
            settings.JOB_DEFINITION,
        ]
    )
    routes = parse_routes(settings.optional(settings.ROUTES)) if reroute else None
    dynamodb, s3, batch = clients("dynamodb", "s3", "batch")
    ledger = Ledger(dynamodb, values[settings.LEDGER_TABLE])
    listed = failed_entries(ledger, since, key_prefix) if failed else iter(())
    first = list(islice(listed, array_threshold + 1))  # enough to decide, read once
    if goes_bulk(len(targets or []) + len(first), array_threshold):
        targeted = _items(ledger, values, targets or [], False, None, None)
        rows = resubmit_bulk(
            ledger, s3, batch, values, [*targeted, *first, *listed], routes, dry_run
        )
        _report(rows, as_json, "resubmit")
        if any(r["action"] == "refused" for r in rows) and targets:
            raise typer.Exit(1)
        return
    entries = _items(ledger, values, targets or [], failed, since, key_prefix)
    rows = []
    for entry in entries:
        in_staging = holds_version(s3, entry.bucket, entry.key, entry.version_id, entry.etag)
        spec = entry.spec
        chosen = route(spec.version.key, spec.version.size, routes) if routes else None
        reason = refusal(entry, in_staging) or (
            "no route matches it now" if routes and chosen is None else None
        )
        row = {
            "key": entry.key,
            "version_id": entry.version_id,
            "old_job": entry.job_id,
        }
        if reason:
            rows.append({**row, "action": "refused", "reason": reason})
            continue
        if dry_run:
            rows.append({**row, "action": "would resubmit", "reason": ""})
            continue
        try:
            job_id = resubmit_item(
                batch,
                ledger,
                entry,
                job_queue=values[settings.JOB_QUEUE],
                job_definition=values[settings.JOB_DEFINITION],
                reason=f"resubmission of job {entry.job_id}",
                route=chosen,
            )
        except InProgress as err:
            rows.append({**row, "action": "refused", "reason": str(err)})
            continue
        rows.append({**row, "action": "resubmitted", "reason": "", "new_job": job_id})
    _report(rows, as_json, "resubmit")
    if any(r["action"] == "refused" for r in rows) and targets:
        raise typer.Exit(1)


def reprocess(
    key_prefix: Annotated[
        str | None, typer.Option(help="Archived originals under this prefix.")
    ] = None,
    everything: guard.AllFlag = False,
    yes: guard.YesFlag = False,
    transform: Annotated[
        str | None, typer.Option(help="Use this transform instead of the routes' choice.")
    ] = None,
    dry_run: DryRun = False,
    as_json: JsonFlag = False,
    array_threshold: ArrayThreshold = DEFAULT_THRESHOLD,
) -> None:
    """Copy archived originals back to staging, so they flow through the pipeline again.

    Example: [bold]conveyor reprocess --key-prefix videos/2026/ --transform h264-1080p[/]
    With --transform the job is submitted at once with that transform; without it the routes
    decide, as for any upload. The whole archive takes --all (and a yes, or --yes). Above
    --array-threshold originals the copies run as Batch array jobs submitted from here.
    """
    key_prefix = guard.not_empty(key_prefix, "--key-prefix", "use --all for the whole archive")
    guard.scope(key_prefix is not None, everything, "--key-prefix")
    if everything:
        guard.confirm("copy every archived original back to staging", yes=yes, dry_run=dry_run)
    if transform is not None:
        check_transform(transform, "--transform")  # before anything is copied back
        if transform == "command":
            raise ConveyorError(
                "--transform command needs a command line, which only a route gives: add a "
                "route with 'argv' for these keys and reprocess without --transform"
            )
    values = settings.require([settings.STAGING_BUCKET, settings.ARCHIVE_BUCKET])
    s3, dynamodb = clients("s3", "dynamodb")
    table = settings.optional(settings.LEDGER_TABLE)
    ledger = Ledger(dynamodb, table) if table else None
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=values[settings.ARCHIVE_BUCKET], Prefix=key_prefix or ""
    )
    archived = [
        (obj["Key"], int(obj.get("Size", 0)))
        for page in pages
        for obj in page.get("Contents", [])
        if not obj["Key"].startswith(manifest.RESERVED_PREFIX)  # the bulk runs' manifests
    ]
    rows: list[dict[str, Any]] = []
    keys = [key for key, _ in archived]
    if goes_bulk(len(archived), array_threshold):
        bulk_rows, keys = reprocess_bulk(
            s3, dynamodb, values, archived, transform, dry_run, choose=_newest_archived
        )
        rows += bulk_rows
    trigger = build_trigger() if transform and keys and not dry_run else None
    for key in keys:
        rows.append(_reprocess_one(s3, ledger, values, key, transform, trigger, dry_run))
    if not rows:
        where = f"under {key_prefix!r}" if key_prefix else "at all"
        raise NotFound(f"the archive holds nothing {where}")
    _report(rows, as_json, "reprocess")


def _reprocess_one(
    s3: Any,
    ledger: Ledger | None,
    values: dict[str, str],
    key: str,
    transform: str | None,
    trigger: Any,
    dry_run: bool,
) -> dict[str, Any]:
    """One archived original back to staging; with --transform, submitted through the trigger."""
    chosen, why_not = _newest_archived(s3, ledger, values, key)
    if chosen is None:
        return {"key": key, "action": "refused", "reason": why_not}
    if dry_run:
        return {"key": key, "action": "would copy back", "reason": ""}
    copied = _copy_back(s3, values, key, chosen)
    row = {"key": key, "action": "copied back", "reason": "", "version_id": copied.version_id}
    if trigger is not None:
        outcome = trigger.handle(copied, forced=Route(match=key, transform=transform))
        row["reason"] = (
            f"submitted with {transform}"
            if outcome == "submitted"
            else "the trigger took it first; the routes chose its transform"
        )
    return row


def sweep(
    older_than: Annotated[
        str, typer.Option(help="Only versions in staging longer than this.")
    ] = "1h",
    resubmit_them: Annotated[
        bool, typer.Option("--resubmit", help="Submit them: route new ones, resubmit failed ones.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """List staging versions that nothing is processing: no job, or only a failed one.

    Example: [bold]conveyor sweep --older-than 2h --resubmit[/]
    """
    values = settings.require([settings.LEDGER_TABLE, settings.STAGING_BUCKET])
    cutoff = utcnow() - parse_duration(older_than)
    s3, dynamodb = clients("s3", "dynamodb")
    ledger = Ledger(dynamodb, values[settings.LEDGER_TABLE])
    trigger = build_trigger() if resubmit_them else None
    rows = []
    pages = s3.get_paginator("list_object_versions").paginate(
        Bucket=values[settings.STAGING_BUCKET]
    )
    for page in pages:
        for v in page.get("Versions", []):
            if v["Key"].endswith("/") and v["Size"] == 0:
                continue
            version = ObjectVersion(
                values[settings.STAGING_BUCKET], v["Key"], v["ETag"], v["Size"], v["VersionId"]
            )
            item = ledger.get(**_key(version))
            reason = stranded_reason(item, v["LastModified"], cutoff)
            if reason is None:
                continue
            row = {
                "key": v["Key"],
                "version_id": v["VersionId"],
                "reason": reason,
                "action": "stranded",
            }
            if trigger is not None:
                row["action"] = _unstrand(trigger, ledger, version, item)
            rows.append(row)
    _report(rows, as_json, "sweep")


def logs(
    job_id: Annotated[str, typer.Argument(help="A Batch job id.")],
) -> None:
    """Print a job's log: CloudWatch Logs on AWS, the local executor's captured output locally.

    Example: [bold]conveyor logs 4c7599ae-0a82-49aa-ba5a-4727fcce14a8[/]
    """
    if not JOB_ID.match(job_id):
        raise ConveyorError(f"not a job id: {job_id!r}")
    values = settings.require([settings.LEDGER_TABLE])
    items = Ledger(client("dynamodb"), values[settings.LEDGER_TABLE]).find_job(job_id)
    if not items or not items[0].get("log_stream"):
        raise NotFound(f"the ledger has no log stream for job {job_id} (has it started?)")
    stream = items[0]["log_stream"]
    if Path(stream).is_file():
        typer.echo(Path(stream).read_text(errors="replace"), nl=False)
        return
    cloudwatch = client("logs")
    group = settings.optional(settings.LOG_GROUP) or DEFAULT_LOG_GROUP
    token = None
    while True:
        request = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
        if token:
            request["nextToken"] = token
        page = cloudwatch.get_log_events(**request)
        for event in page["events"]:
            typer.echo(event["message"])
        if page.get("nextForwardToken") in (None, token) or not page["events"]:
            return
        token = page["nextForwardToken"]


# --- helpers ------------------------------------------------------------------------------


def _items(
    ledger: Ledger,
    values: dict[str, str],
    targets: list[str],
    failed: bool,
    since: str | None,
    key_prefix: str | None,
) -> list[Entry]:
    items: list[Entry | None] = []
    if failed:
        rows = list_versions(
            ledger,
            bucket=values[settings.STAGING_BUCKET],
            status=Status.FAILED,
            key_prefix=key_prefix,
            since=iso(since_moment(since, utcnow())) if since else None,
            limit=10_000,
        )
        keys = [primary_key(r["bucket"], r["key"], _ref(r)) for r in rows]
        items += [ledger.get(k["pk"], k["sk"]) for k in keys]
    for target in targets:
        found = (
            ledger.find_job(target)
            if JOB_ID.match(target)
            else ledger.versions_of(values[settings.STAGING_BUCKET], target)
        )
        if not found:
            raise NotFound(f"the ledger has no record of {target}")
        items += found if JOB_ID.match(target) else [found[0]]
    return [i for i in items if i]


def _guard_failed(
    since: str | None, key_prefix: str | None, everything: bool, *, yes: bool, dry_run: bool
) -> None:
    """`--failed` narrowed by a non-empty --since or --key-prefix, or --all and a yes."""
    instead = "use --all for every FAILED version"
    filters = [
        guard.not_empty(since, "--since", instead),
        guard.not_empty(key_prefix, "--key-prefix", instead),
    ]
    guard.scope(filters != [None, None], everything, "--since or --key-prefix")
    if everything:
        guard.confirm("resubmit every FAILED version still in staging", yes=yes, dry_run=dry_run)


def _ref(row: dict[str, Any]) -> str:
    return f"v#{row['version_id']}" if row.get("version_id") else f"e#{row['etag']}"


def _key(version: ObjectVersion) -> dict[str, str]:
    key = primary_key(version.bucket, version.key, version.ref)
    return {"partition": key["pk"], "sort": key["sk"]}


def _newest_archived(
    s3: Any, ledger: Ledger | None, values: dict[str, str], key: str
) -> tuple[str | None, str]:
    """The archive version holding the key's newest processed upload, or None and why not.

    The archive's current version is the one copied last, not the newest upload (an older
    version's job may finish later): the upload whose output stands is the newest, and the
    ledger knows its archive copy. Without that, only a key archived once is unambiguous.
    """
    archive = values[settings.ARCHIVE_BUCKET]
    for entry in ledger.versions_of(values[settings.STAGING_BUCKET], key) if ledger else []:
        output, copy = entry.output, entry.archive
        if not (output and copy and copy.version_id and entry.version_id):
            continue
        head = head_or_none(s3, Bucket=output.bucket, Key=output.key)
        if head and head.get("Metadata", {}).get(SOURCE_VERSION) == entry.version_id:
            return copy.version_id, ""
    listing = s3.list_object_versions(Bucket=archive, Prefix=key, MaxKeys=2)
    versions = [v for v in listing.get("Versions", []) if v["Key"] == key]
    if len(versions) == 1:
        return versions[0]["VersionId"], ""
    return None, (
        "the archive holds several uploads of this key and the ledger does not say which is "
        "the newest (its output is gone or was never written)"
    )


def _copy_back(s3: Any, values: dict[str, str], key: str, version_id: str) -> ObjectVersion:
    """A new staging version with the original's bytes and metadata, minus the archive's own."""
    archive = values[settings.ARCHIVE_BUCKET]
    return copy_back(
        s3,
        staging=values[settings.STAGING_BUCKET],
        archive=archive,
        key=key,
        head=archived_head(s3, archive, key, version_id),
    )


def _unstrand(trigger: Any, ledger: Ledger, version: ObjectVersion, item: Entry | None) -> str:
    if item is not None and item.status is Status.FAILED:
        try:
            job_id = resubmit_item(
                trigger.batch,
                ledger,
                item,
                job_queue=trigger.config.job_queue,
                job_definition=trigger.config.job_definition,
                reason=f"resubmission of job {item.get('job_id')} by sweep",
            )
        except InProgress as err:
            return str(err)
        return f"resubmitted as {job_id}"
    if item is not None and item.get("claim_token"):
        ledger.release(item, "released by sweep")
    outcome = trigger.handle(version)
    return {"submitted": "submitted", "skipped": "still no route", "duplicate": "already claimed"}[
        outcome
    ]


def _cell(row: dict[str, Any], column: str, narrow: bool) -> str:
    value = str(row.get(column) or "")
    return short(value, SHORT_IDS[column]) if narrow and column in SHORT_IDS else value


def _report(rows: list[dict[str, Any]], as_json: bool, title: str) -> None:
    if as_json:
        typer.echo(to_json(rows))
        return
    console = Console()
    if not rows:
        console.print("Nothing to do.")
        return
    narrow = console.width < MEDIUM
    table = grid_table(title=f"conveyor {title}")
    columns = list(dict.fromkeys(k for row in rows for k in row))
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(literal(_cell(row, column, narrow)) for column in columns))
    console.print(table)
