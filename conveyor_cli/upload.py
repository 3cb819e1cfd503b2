"""`conveyor upload`: send files to the staging bucket, skipping what is already there."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from conveyor import settings
from conveyor.aws import client
from conveyor.errors import ConveyorError
from conveyor_cli.render import grid_table
from conveyor_cli.text import literal, to_json, visible
from conveyor_cli.uploads.digest import digests
from conveyor_cli.uploads.plan import Action, plan
from conveyor_cli.uploads.send import FileResult, files, remotes, send


def upload(
    paths: Annotated[list[str], typer.Argument(help="Files or folders to upload.")],
    key_prefix: Annotated[str, typer.Option(help="Put before every key, e.g. videos/.")] = "",
    force: Annotated[bool, typer.Option(help="Upload even when the content is there.")] = False,
    dry_run: Annotated[
        bool, typer.Option(help="Say what would be uploaded; send nothing.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON, one object per file.")
    ] = False,
) -> None:
    """Upload files to staging unless staging or the archive already holds the same content.

    Example: [bold]conveyor upload clips/ --key-prefix videos/[/]
    Content is compared by checksum (CRC64NVME, or the SHA-256 recorded at upload), never by size
    and modification time. An empty path is refused: write . for the current folder.
    """
    if "" in paths:  # Path("") is ".": an unset shell variable would upload the whole folder
        raise ConveyorError("an empty path names no file; write . for the current folder")
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        raise ConveyorError(f"no such file or folder: {', '.join(missing)}")
    found = files([Path(p) for p in paths], key_prefix)
    values = settings.require([settings.STAGING_BUCKET, settings.ARCHIVE_BUCKET])
    buckets = {
        "staging": values[settings.STAGING_BUCKET],
        "archive": values[settings.ARCHIVE_BUCKET],
    }
    s3 = client("s3")
    progress_console = Console(stderr=True)
    results: list[FileResult] = []
    with Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=progress_console,
        transient=True,
        disable=as_json,
    ) as progress:
        for path, key in found:
            size = path.stat().st_size
            try:
                task = progress.add_task(f"hashing {visible(path.name)}", total=size)
                local = digests(path, lambda n, t=task: progress.advance(t, n))
                progress.remove_task(task)
                action, reason = plan(local, remotes(s3, buckets, key), force=force)
                if action is Action.SKIP:
                    results.append(FileResult(str(path), key, "skipped", reason))
                    continue
                if dry_run:
                    results.append(FileResult(str(path), key, "would upload", reason, size))
                    continue
                task = progress.add_task(f"sending {visible(path.name)}", total=size)
                seconds = send(
                    s3,
                    path,
                    buckets["staging"],
                    key,
                    local,
                    lambda n, t=task: progress.advance(t, n),
                )
                progress.remove_task(task)
                results.append(FileResult(str(path), key, "uploaded", reason, size, seconds))
            except Exception as err:  # one file's failure never stops the others
                results.append(FileResult(str(path), key, "failed", _reason(err)))
    if as_json:
        typer.echo(to_json([r.as_json() for r in results]))
    else:
        _summary(results)
    if any(r.action == "failed" for r in results):
        raise typer.Exit(1)


def _reason(err: Exception) -> str:
    response = getattr(err, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        return f"{error.get('Code')}: {error.get('Message')}"
    return str(err) or type(err).__name__


def _summary(results: list[FileResult]) -> None:
    console = Console()
    table = grid_table(title="conveyor upload")
    for column in ("file", "key", "action", "reason"):
        table.add_column(column, overflow="fold", ratio=1)
    for column in ("MB", "MB/s"):
        table.add_column(column, no_wrap=True, justify="right")
    for r in results:
        rate = f"{r.bytes / r.seconds / 1e6:.1f}" if r.seconds else ""
        table.add_row(
            literal(r.path),
            literal(r.key),
            literal(r.action),
            literal(r.reason),
            f"{r.bytes / 1e6:.1f}",
            rate,
        )
    console.print(table)
    counts = {a: sum(r.action == a for r in results) for a in ("uploaded", "skipped", "failed")}
    sent = sum(r.bytes for r in results if r.action == "uploaded")
    seconds = sum(r.seconds for r in results)
    rate = f", {sent / seconds / 1e6:.1f} MB/s" if seconds else ""
    console.print(
        f"{counts['uploaded']} uploaded, {counts['skipped']} skipped, {counts['failed']} failed; "
        f"{sent / 1e6:.1f} MB sent{rate}"
    )
