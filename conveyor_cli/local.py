"""`conveyor local ...`: Conveyor on this machine, with no AWS account and no Docker."""

from __future__ import annotations

import signal
import threading
from typing import Annotated, Any

import typer
from rich.console import Console

from conveyor.aws import clients
from conveyor.errors import ConveyorError
from conveyor_cli.text import literal
from conveyor_local import state
from conveyor_local.provision import provision as provision_resources

THROWAWAY = (
    "A throwaway stack: its buckets, queue and ledger live in memory and vanish when it stops; "
    "its jobs stop with it."
)
"""moto keeps no state on disk, so nothing survives a restart; said at start, not discovered."""

app = typer.Typer(help="Run Conveyor on this machine, with no AWS account.", no_args_is_help=True)


@app.command()
def provision(
    endpoint_url: Annotated[
        str, typer.Option(help="S3, SQS and DynamoDB endpoint, e.g. a moto server.")
    ],
    name: Annotated[str, typer.Option(help="Prefix of every resource name.")] = "conveyor",
) -> None:
    """Create the buckets, queues and ledger table, and print the settings as KEY=value lines.

    Example: [bold]conveyor local provision --endpoint-url http://127.0.0.1:5000[/]
    Running it again is harmless.
    """
    s3, sqs, dynamodb = clients("s3", "sqs", "dynamodb", endpoint_url=endpoint_url)
    created = provision_resources(s3=s3, sqs=sqs, dynamodb=dynamodb, name=name)
    for key, value in created.items():
        typer.echo(f"{key}={value}")


@app.command()
def up(
    port: Annotated[
        int, typer.Option(min=1, max=65535, help="Port of the local S3/SQS/DynamoDB endpoint.")
    ] = 4566,
    workers: Annotated[int, typer.Option(min=1, help="Jobs run at once.")] = 2,
    grace: Annotated[
        float, typer.Option(min=0, help="Seconds running jobs get to finish when it stops.")
    ] = 10,
) -> None:
    """Run the whole pipeline here until Ctrl-C: uploads to the staging bucket are processed.

    Example: [bold]conveyor local up --workers 2[/], then in another terminal
    [bold]conveyor upload clip.mov[/] and [bold]conveyor jobs[/].
    """
    from conveyor_local.stack import start

    console = Console()
    running = state.read()
    if running is not None:
        raise ConveyorError(
            f"a local stack is already running (pid {running['pid']}, {running['endpoint']}): "
            "use it, or stop it first"
        )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):  # from here on, a signal means a clean stop
        signal.signal(signum, lambda *_: stop.set())
    stack = start(port=port, workers=workers, observe=lambda event: _show(console, event))
    console.print(f"[bold]Conveyor local stack[/] on {stack.endpoint} ({workers} workers)")
    for key, value in stack.environment.items():
        typer.echo(f"  {key}={value}")  # plain: a KEY=value line copied from a log must be whole
    console.print("Other `conveyor` commands in other terminals use it. Ctrl-C stops it.")
    typer.echo(THROWAWAY)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        console.print(f"Stopping: waiting for running jobs ({grace:g} s at most)...")
        stack.stop(grace)
        console.print("Stopped.")


def _show(console: Console, event: dict[str, Any]) -> None:
    detail = event["detail"]
    code = detail.get("container", {}).get("exitCode")
    suffix = f" (exit {code})" if code is not None else ""
    console.print(
        literal(
            f"{event['time']}  {detail['jobId']}  {detail['status']:<9}  "
            f"{detail['parameters'].get('key', '')}{suffix}"
        ),
        highlight=False,
        soft_wrap=True,
    )
