"""`conveyor upload`: send files to the staging bucket, skipping what is already there."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Annotated, Any

import boto3
import botocore.session
import typer
from botocore.config import Config
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from conveyor import settings
from conveyor.aws import client
from conveyor.errors import ConveyorError
from conveyor.ledger.store import Ledger
from conveyor.objects import normalize_etag
from conveyor_cli.render import grid_table
from conveyor_cli.text import literal, to_json_array, visible
from conveyor_cli.uploads.cache import DigestCache, default_path
from conveyor_cli.uploads.parts import MIN_PART_SIZE, MiB
from conveyor_cli.uploads.run import FileResult, Options, Run
from conveyor_cli.uploads.walk import LocalFile, files

MAX_JOBS = 64
MAX_PART_MIB = 5 * 1024


def upload(
    paths: Annotated[list[str], typer.Argument(help="Files or folders to upload.")],
    key_prefix: Annotated[str, typer.Option(help="Put before every key, e.g. videos/.")] = "",
    force: Annotated[bool, typer.Option(help="Upload even when the content is there.")] = False,
    dry_run: Annotated[
        bool, typer.Option(help="Say what would be uploaded; send nothing.")
    ] = False,
    resume: Annotated[
        bool,
        typer.Option(help="Resume a large file's upload a stopped run left open (verified)."),
    ] = True,
    jobs: Annotated[
        int, typer.Option(help=f"Requests in flight, 1 to {MAX_JOBS}: files, and parts.")
    ] = 10,
    part_size: Annotated[
        int, typer.Option(help="MiB per part of a multipart upload, 5 to 5120.")
    ] = 16,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON, one object per file.")
    ] = False,
) -> None:
    """Upload files to staging unless staging or the archive already holds the same content.

    Example: [bold]conveyor upload clips/ --key-prefix videos/[/]
    An archived copy does not count while another upload of the key waits in staging.
    Content is compared by checksum, never by size and modification time: a listing's ETag
    (predictable for what this command uploaded), else S3's full-object CRC64NVME. A file's
    digests are cached by its stat (like git's index), so an unchanged file is not read again.
    An empty path is refused: write . for the current folder.
    """
    if not 1 <= jobs <= MAX_JOBS:
        raise ConveyorError(f"--jobs {jobs}: give 1 to {MAX_JOBS}")
    if not MIN_PART_SIZE // MiB <= part_size <= MAX_PART_MIB:
        raise ConveyorError(f"--part-size {part_size}: give 5 to {MAX_PART_MIB} (MiB)")
    found = files(paths, key_prefix)
    values = settings.require([settings.STAGING_BUCKET, settings.ARCHIVE_BUCKET])
    buckets = {
        "staging": values[settings.STAGING_BUCKET],
        "archive": values[settings.ARCHIVE_BUCKET],
    }
    options = Options(force, dry_run, resume, jobs, part_size * MiB)
    s3 = _s3(jobs)
    cache = DigestCache(default_path())
    console = Console(stderr=True)
    started = time.monotonic()
    try:
        with RichReporter(console, disable=as_json) as reporter:
            run = Run(s3, buckets, cache, options, reporter, staged_status(buckets["staging"]))
            results = run(found)
    except KeyboardInterrupt:
        console.print("interrupted: run the same command again to resume")
        raise typer.Exit(130) from None
    finally:
        cache.close()
    if cache.problem and not as_json:
        console.print(visible(cache.problem))
    if as_json:
        typer.echo(to_json_array([r.as_json() for r in results]))
    else:
        _summary(results, time.monotonic() - started)
    if any(r.action == "failed" for r in results):
        raise typer.Exit(1)


def staged_status(staging: str) -> Callable[[str, str], str | None] | None:
    """Asks the ledger about a staging version (by key and ETag), when there is a ledger."""
    table = settings.optional(settings.LEDGER_TABLE)
    if not table:
        return None
    ledger = Ledger(client("dynamodb"), table)

    def status(key: str, etag: str) -> str:
        for entry in ledger.versions_of(staging, key):  # newest first
            if normalize_etag(entry.etag) == etag:
                return str(entry.status or "")
        return ""  # the trigger has not recorded it yet: it waits

    return status


def _s3(jobs: int) -> Any:
    """A client with a connection for every file and part in flight, that leaves timestamps as
    S3 wrote them (as the AWS CLI does): parsing a listing's 1,000 LastModified dates costs more
    than the request, and nothing here reads them."""
    core = botocore.session.get_session()
    core.get_component("response_parser_factory").set_parser_defaults(
        timestamp_parser=lambda text: text
    )
    session = boto3.session.Session(botocore_session=core)
    return client("s3", session=session, config=Config(max_pool_connections=2 * jobs + 4))


class RichReporter:
    """One line for the run (files, bytes, rate, ETA) and one per large file in flight."""

    def __init__(self, console: Console, *, disable: bool) -> None:
        self.progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            disable=disable,
        )
        self._lock = threading.Lock()
        self._files = self._done = 0
        self._total = 0
        self._run: TaskID | None = None
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> RichReporter:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)  # type: ignore[arg-type]

    def begin(self, files: int, size: int) -> None:
        self._files, self._total = files, size
        self._run = self.progress.add_task(self._label(), total=size)

    def sent(self, n: int) -> None:
        if self._run is not None:
            self.progress.advance(self._run, n)

    def settled(self, result: FileResult, unsent: int) -> None:
        with self._lock:
            self._done += 1
            self._total -= unsent
            total, label = self._total, self._label()
        if self._run is not None:
            self.progress.update(self._run, total=total, description=label)

    def large(self, verb: str, f: LocalFile) -> Callable[[int], None]:
        task = self.progress.add_task(f"{verb} {visible(f.key)}", total=f.size)
        with self._lock:
            self._tasks[f.stat.path] = task
        return lambda n: self.progress.advance(task, n)

    def large_done(self, f: LocalFile) -> None:
        with self._lock:
            task = self._tasks.pop(f.stat.path, None)
        if task is not None:
            self.progress.remove_task(task)

    def _label(self) -> str:
        return f"{self._done:,}/{self._files:,} files"


def _summary(results: list[FileResult], seconds: float) -> None:
    """A row for each file sent, to send, or failed; the skipped are counted by reason and
    evidence (--json lists every file)."""
    console = Console()
    listed = [r for r in results if r.action != "skipped"]
    if listed:
        table = grid_table(title="conveyor upload")
        for column in ("file", "key", "action", "reason", "decided by"):
            table.add_column(column, overflow="fold", ratio=1)
        for column in ("MB", "MB/s"):
            table.add_column(column, no_wrap=True, justify="right")
        for r in listed:
            rate = f"{r.bytes / r.seconds / 1e6:.1f}" if r.seconds else ""
            reason = r.reason + (f" ({r.resumed_parts} parts resumed)" if r.resumed_parts else "")
            table.add_row(
                literal(r.path),
                literal(r.key),
                literal(r.action),
                literal(reason),
                literal(r.decided_by),
                f"{r.bytes / 1e6:.1f}",
                rate,
            )
        console.print(table)
    skipped = Counter((r.reason, r.decided_by) for r in results if r.action == "skipped")
    for (reason, via), count in sorted(skipped.items()):
        console.print(literal(f"skipped {count:,}: {reason} (decided by {via})"))
    counts = Counter(r.action for r in results)
    sent = sum(r.bytes for r in results if r.action == "uploaded")
    rate = f", {sent / seconds / 1e6:.1f} MB/s" if sent and seconds else ""
    console.print(
        f"{counts['uploaded']:,} uploaded, {counts['skipped']:,} skipped, "
        f"{counts['failed']:,} failed; {sent / 1e6:.1f} MB sent in {seconds:.1f} s{rate}"
    )
