"""`conveyor local ...`: Conveyor's resources on a local or compatible endpoint."""

from __future__ import annotations

from typing import Annotated

import typer

from conveyor.aws import client
from conveyor.local.provision import provision as provision_resources

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
    created = provision_resources(
        s3=client("s3", endpoint_url=endpoint_url),
        sqs=client("sqs", endpoint_url=endpoint_url),
        dynamodb=client("dynamodb", endpoint_url=endpoint_url),
        name=name,
    )
    for key, value in created.items():
        typer.echo(f"{key}={value}")
