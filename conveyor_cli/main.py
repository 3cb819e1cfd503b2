"""`conveyor`: the app, its sub-apps, and the one place errors become a line and an exit code."""

from __future__ import annotations

import logging
import sys

import typer
from botocore.exceptions import BotoCoreError, ClientError

from conveyor.aws import client
from conveyor.errors import ConveyorError
from conveyor_cli import access, context, demo, events, jobs, local, operate, reconcile, upload
from conveyor_cli.text import visible

app = typer.Typer(
    name="conveyor",
    help="Transform every file that lands in S3, and answer what happened to it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
app.add_typer(local.app, name="local")
jobs.register(app)
app.command("demo")(demo.demo)
app.command("upload")(upload.upload)
app.command("presign")(access.presign)
app.command("credentials")(access.credentials)
app.command("resubmit")(operate.resubmit)
app.command("reprocess")(operate.reprocess)
app.command("sweep")(operate.sweep)
app.command("reconcile")(reconcile.reconcile)
app.command("logs")(operate.logs)
app.command("events")(events.events)


@app.callback()
def settings_source(
    stack: str | None = typer.Option(
        None, "--stack", help="Read settings from this deployed stack's outputs."
    ),
) -> None:
    """Settings: the CONVEYOR_* environment, else --stack, else a running `conveyor local up`."""
    if stack:
        context.use_stack(stack, client("cloudformation"))
    else:
        context.use_local_stack_if_running()


EXIT_ERROR = 1
EXIT_AWS = 2
EXIT_USAGE = 2
"""click's own code for a usage error."""
USAGE_ERROR: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError"
)
"""Bad flags and arguments (typer raises click's, or its own vendored copy's, UsageError)."""


def main() -> None:
    """Console entry point: usage, domain and AWS errors end as one line on stderr, never a
    traceback or a box; the exit code says which (2 for usage and AWS, 1 for the rest)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        code = app(standalone_mode=False)
    except USAGE_ERROR as err:
        if type(err).__name__ == "NoArgsIsHelpError":  # `conveyor` alone: its help, as asked
            typer.echo(err.ctx.get_help() if err.ctx else "", err=True)
            sys.exit(EXIT_USAGE)
        command = err.ctx.command_path if err.ctx else "conveyor"
        typer.secho(
            f"error: {visible(err.format_message())} (see `{command} --help`)", fg="red", err=True
        )
        sys.exit(EXIT_USAGE)
    except typer.Abort:
        typer.secho("aborted", fg="red", err=True)
        sys.exit(EXIT_ERROR)
    except ConveyorError as err:
        typer.secho(f"error: {visible(err)}", fg="red", err=True)
        sys.exit(EXIT_ERROR)
    except ClientError as err:
        error = err.response.get("Error", {})
        typer.secho(
            visible(
                f"error: AWS {err.operation_name}: {error.get('Code')}: {error.get('Message')}"
            ),
            fg="red",
            err=True,
        )
        sys.exit(EXIT_AWS)
    except BotoCoreError as err:
        typer.secho(f"error: AWS: {visible(err)}", fg="red", err=True)
        sys.exit(EXIT_AWS)
    sys.exit(code if isinstance(code, int) else 0)
