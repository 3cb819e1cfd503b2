"""Where the CLI's settings come from: the environment, a deployed stack, or the local stack."""

from __future__ import annotations

import os

import typer

from conveyor import settings
from conveyor.errors import ConfigError
from conveyor_local import state


def use_stack(name: str, cloudformation: object) -> dict[str, str]:
    """Read every CONVEYOR_* setting from a deployed stack's outputs into the environment."""
    stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]  # type: ignore[attr-defined]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    found = {
        s: outputs[settings.output_name(s)]
        for s in settings.ALL
        if settings.output_name(s) in outputs
    }
    if settings.LEDGER_TABLE not in found:
        raise ConfigError(f"stack {name!r} has no Conveyor outputs (is it a Conveyor stack?)")
    os.environ.update(found)
    return found


def use_local_stack_if_running() -> bool:
    """With no settings in the environment, use a running `conveyor local up`, if any."""
    if os.environ.get(settings.LEDGER_TABLE):
        return False
    running = state.read()
    if running is None:
        gone = state.dead()
        if gone is not None:
            typer.secho(
                f"note: the local stack (pid {gone}) is no longer running; its buckets and "
                "ledger went with it. Start a new one with `conveyor local up`.",
                fg="yellow",
                err=True,
            )
        return False
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": running["endpoint"],
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": "us-east-1",
            **running["settings"],
        }
    )
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)
    return True
