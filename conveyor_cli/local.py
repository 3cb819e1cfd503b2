"""`conveyor local ...`: Conveyor on this machine, with no AWS account and no Docker."""

from __future__ import annotations

import signal
import threading
from typing import Annotated, Any

import typer
from rich.console import Console

from conveyor import settings
from conveyor.aws import client, clients
from conveyor.errors import ConveyorError
from conveyor_cli.text import literal
from conveyor_local import state
from conveyor_local.provision import provision as provision_resources
from conveyor_local.provision import provision_events
from conveyor_local.users import add_user
from conveyor_local.web import DEFAULT_PORT as DEFAULT_WEB_PORT

THROWAWAY = (
    "A throwaway stack: its buckets, queue and ledger live in memory and vanish when it stops; "
    "its jobs stop with it."
)
"""moto keeps no state on disk, so nothing survives a restart; said at start, not discovered."""

ADD_USER_HINT = "conveyor local user add NAME"

app = typer.Typer(help="Run Conveyor on this machine, with no AWS account.", no_args_is_help=True)
user_app = typer.Typer(
    help="The people who may sign in to the local web page.\n\n"
    "Example: [bold]conveyor local user add alice[/]",
    no_args_is_help=True,
)
app.add_typer(user_app, name="user")


@app.command()
def provision(
    endpoint_url: Annotated[
        str,
        typer.Option(help="S3, SQS, DynamoDB, EventBridge and Logs endpoint, e.g. a moto server."),
    ],
    name: Annotated[str, typer.Option(help="Prefix of every resource name.")] = "conveyor",
) -> None:
    """Create the buckets, queues, ledger table, and the rule that keeps Conveyor's events in a
    log group (`conveyor events` reads it); print the settings as KEY=value lines.

    Example: [bold]conveyor local provision --endpoint-url http://127.0.0.1:5000[/]
    Running it again is harmless.
    """
    s3, sqs, dynamodb, events, logs = clients(
        "s3", "sqs", "dynamodb", "events", "logs", endpoint_url=endpoint_url
    )
    created = provision_resources(s3=s3, sqs=sqs, dynamodb=dynamodb, name=name)
    created.update(provision_events(events=events, logs=logs, name=name))
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
    web_port: Annotated[
        int,
        typer.Option(min=0, max=65535, help="Port of the web page and its API (0: any free one)."),
    ] = DEFAULT_WEB_PORT,
    faults: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Share of S3, SQS, DynamoDB and Batch requests that fail (500, 503, throttling, "
            "reset connections), to see your pipeline cope; 0: none.",
        ),
    ] = 0.0,
    fault_seed: Annotated[
        int, typer.Option(help="Seed of the faults: the same seed fails the same requests.")
    ] = 0,
) -> None:
    """Run the whole pipeline here until Ctrl-C: uploads to the staging bucket are processed,
    and the web page (upload from a browser, follow your files) is served on 127.0.0.1.

    Example: [bold]conveyor local up --workers 2[/], then in another terminal
    [bold]conveyor upload clip.mov[/] and [bold]conveyor jobs[/], or
    [bold]conveyor local user add alice[/] and open the page it prints.
    Under faults: [bold]conveyor local up --faults 0.1 --fault-seed 7[/]
    """
    from conveyor_local.faults import SERVICES, Faults
    from conveyor_local.stack import start

    console = Console()
    refuse_if_running()
    stop = stop_on_signals()
    stack = start(
        port=port,
        workers=workers,
        observe=lambda event: _show(console, event),
        web_port=web_port,
        faults=[Faults(share=dict.fromkeys(SERVICES, faults), seed=fault_seed)] if faults else None,
    )
    console.print(f"[bold]Conveyor local stack[/] on {stack.endpoint} ({workers} workers)")
    if faults:
        typer.echo(
            f"faults: {faults:.0%} of S3, SQS, DynamoDB and Batch requests fail (seed "
            f"{fault_seed}); moto itself is on {stack.server.endpoint}"
        )
    for key, value in stack.environment.items():
        typer.echo(f"  {key}={value}")  # plain: a KEY=value line copied from a log must be whole
    if stack.web is not None:
        typer.echo(f"page: {stack.web.url} (to let someone sign in: {ADD_USER_HINT})")
    console.print("Other `conveyor` commands in other terminals use it. Ctrl-C stops it.")
    typer.echo(THROWAWAY)
    run_until(stop, stack, console, grace)


def refuse_if_running() -> None:
    """One stack at a time: the other terminals' commands find the one recorded."""
    running = state.read()
    if running is not None:
        raise ConveyorError(
            f"a local stack is already running (pid {running['pid']}, {running['endpoint']}): "
            "use it, or stop it first"
        )


def stop_on_signals() -> threading.Event:
    """An event set by Ctrl-C or SIGTERM: from here on, a signal means a clean stop."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def run_until(stop: threading.Event, stack: Any, console: Console, grace: float) -> None:
    """Keep the stack running until `stop` is set, then stop it, jobs given `grace` seconds."""
    try:
        while not stop.wait(0.5):
            pass
    finally:
        console.print(f"Stopping: waiting for running jobs ({grace:g} s at most)...")
        stack.stop(grace)
        if stack.proxy is not None:
            from conveyor_local.faults import summary_table

            typer.echo(f"Requests and the faults injected:\n{summary_table(stack.proxy.summary())}")
        console.print("Stopped.")


@user_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The user name they sign in with.")],
    password: Annotated[
        str | None,
        typer.Option(help="Their password (default: a generated one); Cognito's policy applies."),
    ] = None,
) -> None:
    """Let someone sign in to the running local stack's web page; prints their password once.

    Example: [bold]conveyor local user add alice[/]
    A password needs 8 characters or more with an upper-case and a lower-case letter, a digit
    and a symbol.
    """
    running = state.read()
    if running is None:
        raise ConveyorError("no local stack is running: start one with `conveyor local up`")
    pool_id = running["settings"].get(settings.USER_POOL_ID)
    if not pool_id:
        raise ConveyorError(
            "the running local stack has no user pool (an older `conveyor local up`): restart it"
        )
    cognito = client(
        "cognito-idp",
        endpoint_url=running["endpoint"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
        region_name="us-east-1",
    )
    chosen = add_user(cognito, pool_id=pool_id, username=name, password=password)
    typer.echo(f"user {name} added")
    typer.echo(f"password: {chosen}")  # shown once: the user pool keeps no readable copy
    if running.get("web"):
        typer.echo(f"sign in at {running['web']}")


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
