"""`conveyor demo`: the main job, end to end, on the local stack, proved rather than asserted."""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from conveyor import settings
from conveyor.aws import client
from conveyor.errors import ConveyorError
from conveyor.ledger.store import Ledger
from conveyor.objects import pin
from conveyor.s3 import head_or_none
from conveyor.status import TERMINAL, Status
from conveyor_cli.local import (
    ADD_USER_HINT,
    THROWAWAY,
    refuse_if_running,
    run_until,
    stop_on_signals,
)
from conveyor_local.media import make_video
from conveyor_local.users import add_user
from conveyor_local.web import DEFAULT_PORT as DEFAULT_WEB_PORT

KEY = "demo/sample-1080p.mp4"
TIMEOUT = 170
"""Seconds the demo waits for its job before it gives up."""
WEB_USER = "demo"
WEB_HINT = "Try it in a browser too: `conveyor demo --web` serves the upload page on 127.0.0.1."


def demo(
    seconds: Annotated[int, typer.Option(min=1, max=600, help="Length of the sample video.")] = 20,
    workers: Annotated[int, typer.Option(min=1, help="Jobs the local executor runs at once.")] = 2,
    web: Annotated[
        bool,
        typer.Option("--web", help="Serve the web page instead, with a user `demo`, until Ctrl-C."),
    ] = False,
    web_port: Annotated[
        int,
        typer.Option(min=0, max=65535, help="Port of the page with --web (0: any free one)."),
    ] = DEFAULT_WEB_PORT,
) -> None:
    """Start the local stack, upload a generated 1080p video, and follow it to a 720p H.264 output.

    Example: [bold]conveyor demo[/]  (what `make demo` runs; about a minute on 2 cores)
    Exit 0 only if the job succeeded, the output is a 720p H.264 video and the original was
    archived and removed from staging.
    With [bold]--web[/]: the stack and its web page, a user `demo` with a printed password, and
    the page's address; upload from the browser and watch the files there, until Ctrl-C.
    """
    from conveyor_local.stack import start

    console = Console()
    if web:
        _web(console, workers=workers, web_port=web_port)
        return
    console.print("[bold]1.[/] Starting the local stack (moto on 127.0.0.1, trigger, executor)...")
    stack = start(workers=workers, record_state=False)
    try:
        with tempfile.TemporaryDirectory(prefix="conveyor-demo-") as tmp:
            console.print(f"[bold]2.[/] Generating a {seconds} s 1080p sample video with audio...")
            video = make_video(
                Path(tmp) / "sample.mp4", width=1920, height=1080, seconds=seconds, faststart=False
            )
            s3 = client("s3")
            staging = stack.settings[settings.STAGING_BUCKET]
            console.print(f"[bold]3.[/] Uploading it to s3://{staging}/{KEY} ...")
            uploaded_at = time.monotonic()
            s3.upload_file(str(video), staging, KEY)
            version = s3.head_object(Bucket=staging, Key=KEY)["VersionId"]
            item = _follow(console, stack.settings, staging, uploaded_at)
            _summary(console, stack.settings, item, version)
    finally:
        stack.stop()
    typer.echo(WEB_HINT)


def _web(console: Console, *, workers: int, web_port: int) -> None:
    """The stack with its page, recorded so other terminals' `conveyor` commands use it."""
    from conveyor_local.stack import start

    refuse_if_running()
    stop = stop_on_signals()
    console.print("Starting the local stack and its web page...")
    stack = start(workers=workers, web_port=web_port)
    try:
        password = add_user(
            client("cognito-idp"),
            pool_id=stack.settings[settings.USER_POOL_ID],
            username=WEB_USER,
        )
    except BaseException:
        stack.stop()
        raise
    assert stack.web is not None
    typer.echo(f"page: {stack.web.url}")  # plain: a URL and a password copied must be whole
    typer.echo(f"user: {WEB_USER}")
    typer.echo(f"password: {password}")
    console.print(
        f"Sign in, drop files, watch them processed. More users: {ADD_USER_HINT}. Ctrl-C stops it."
    )
    typer.echo(THROWAWAY)
    run_until(stop, stack, console, grace=10)


def _follow(console: Console, values: dict[str, str], staging: str, since: float) -> dict[str, Any]:
    ledger = Ledger(client("dynamodb"), values[settings.LEDGER_TABLE])
    deadline = since + TIMEOUT
    item: dict[str, Any] | None = None
    with Live(console=console, refresh_per_second=4, transient=True) as live:
        while time.monotonic() < deadline:
            versions = ledger.versions_of(staging, KEY)
            item = versions[0] if versions else None
            status = item.get("status") if item else None
            line = (
                f"    {status or 'waiting for the trigger'} after {time.monotonic() - since:5.1f} s"
            )
            if item and item.get("job_id"):
                line += f"   job {item['job_id']}"
            live.update(line)
            if status and Status(status) in TERMINAL and item.get("outcome"):
                return item
            if status == Status.FAILED:
                return item
            time.sleep(0.5)
    raise ConveyorError(
        f"the demo job did not finish within {TIMEOUT} s (last status: "
        f"{item.get('status') if item else 'none'}); see `conveyor jobs`"
    )


def _summary(
    console: Console,
    values: dict[str, str],
    item: dict[str, Any],
    version: str,
) -> None:
    s3 = client("s3")
    problems = []
    if item.get("status") != Status.SUCCEEDED:
        problems.append(
            f"the job ended {item.get('status')}: {item.get('error') or item.get('status_reason')}"
        )
    output = item.get("output") or {}
    archive = item.get("archive") or {}
    probe: dict[str, Any] = {}
    size = 0
    if output:
        head = s3.head_object(Bucket=output["bucket"], Key=output["key"])
        size = head["ContentLength"]
        url = s3.generate_presigned_url(
            "get_object", Params={"Bucket": output["bucket"], "Key": output["key"]}
        )
        probe = _probe(url)
    else:
        problems.append("no output was recorded")
    video = next((s for s in probe.get("streams", []) if s.get("codec_type") == "video"), {})
    if (video.get("codec_name"), video.get("height")) != ("h264", 720):
        problems.append(
            f"the output is not 720p H.264: {video.get('codec_name')} {video.get('height')}p"
        )
    staging = values[settings.STAGING_BUCKET]
    if _exists(s3, staging, KEY, version):
        problems.append("the original is still in staging")
    if not archive or not _exists(s3, archive["bucket"], archive["key"], archive.get("version_id")):
        problems.append("the original is not in the archive")

    table = Table(title="Conveyor demo", show_header=False, title_justify="left")
    table.add_row("job", item.get("job_id", ""))
    table.add_row("status", item.get("status", ""))
    table.add_row("time per state", _durations(item.get("history", [])))
    table.add_row("output", f"s3://{output.get('bucket')}/{output.get('key')} ({size:,} bytes)")
    table.add_row(
        "output video",
        f"{video.get('codec_name')} {video.get('width')}x{video.get('height')}, "
        f"{float(probe.get('format', {}).get('duration', 0)):.1f} s",
    )
    table.add_row(
        "original archived",
        f"s3://{archive.get('bucket')}/{archive.get('key')} (version {archive.get('version_id')})",
    )
    console.print(table)
    if problems:
        raise ConveyorError("demo failed: " + "; ".join(problems))
    console.print(
        "[green bold]Demo passed:[/] uploaded, transcoded, archived, removed from staging."
    )


def _durations(history: list[dict[str, Any]]) -> str:
    """Time spent in each state, from the ledger's own history."""
    parts = []
    for entry, following in pairwise(history):
        spent = datetime.fromisoformat(following["at"]) - datetime.fromisoformat(entry["at"])
        parts.append(f"{entry['status']} {spent.total_seconds():.1f}s")
    if history:
        parts.append(history[-1]["status"])
    return " → ".join(parts)


def _probe(url: str) -> dict[str, Any]:
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", url],
        capture_output=True,
        check=False,
        timeout=60,
    )
    return json.loads(done.stdout or b"{}")


def _exists(s3: Any, bucket: str, key: str, version_id: str | None) -> bool:
    return head_or_none(s3, Bucket=bucket, Key=key, **pin(version_id)) is not None
