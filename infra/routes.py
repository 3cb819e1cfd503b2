"""The job queues and definitions the routes name, as ARNs the stack's IAM and rules can use.

A route may send its jobs to another queue or definition (`job_queue`, `job_definition`). The
trigger may submit there only if its policy names them, and their state changes reach the ledger
only if the EventBridge rules match their queues (events always carry the queue's ARN). A name is
taken to be in the stack's own account and region; an ARN elsewhere could never send its events
to this region's bus, so it fails the synth, naming the route.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Stack, Token

from conveyor.errors import ConfigError
from conveyor.routing import Route


@dataclass(frozen=True)
class RouteTargets:
    """Every queue ARN jobs may run on, and every definition ARN SubmitJob may name."""

    queue_arns: tuple[str, ...]
    definition_arns: tuple[str, ...]


def _arn_parts(arn: str, kind: str, where: str) -> tuple[str, str, str]:
    """(region, account, resource name) of a Batch ARN of `kind`, or a ConfigError."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "batch" or not parts[5].startswith(f"{kind}/"):
        raise ConfigError(f"{where}: {arn!r} is not a Batch {kind} name or ARN")
    return parts[3], parts[4], parts[5].removeprefix(f"{kind}/")


def _same_place(stack: Stack, region: str, account: str, value: str, where: str) -> None:
    """An ARN in another region or account: its jobs' events never reach this stack's rules."""
    for mine, theirs, what in (
        (stack.region, region, "region"),
        (stack.account, account, "account"),
    ):
        if not Token.is_unresolved(mine) and mine != theirs:
            raise ConfigError(
                f"{where}: {value!r} is in {what} {theirs}, the stack in {mine}: its job state "
                "changes would never reach the ledger; name a queue in the stack's own"
            )


def _queue_arn(stack: Stack, value: str, where: str) -> str:
    if not value.startswith("arn:"):
        return stack.format_arn(service="batch", resource="job-queue", resource_name=value)
    region, account, _ = _arn_parts(value, "job-queue", where)
    _same_place(stack, region, account, value, where)
    return value


def _definition_arns(stack: Stack, value: str, where: str) -> list[str]:
    """A definition as SubmitJob may name it: with a revision, exactly it; without, every one."""
    if value.startswith("arn:"):
        _, _, name = _arn_parts(value, "job-definition", where)
        return [value] if ":" in name else [value, f"{value}:*"]
    name = value.split(":", 1)[0]
    revisions = [value] if ":" in value else [name, f"{name}:*"]
    return [
        stack.format_arn(service="batch", resource="job-definition", resource_name=revision)
        for revision in revisions
    ]


def route_targets(
    stack: Stack, routes: Sequence[Route], *, queue_arn: str, definition: str
) -> RouteTargets:
    """The stack's own queue and definition (every revision), then each route's, no repeats."""
    queues = [queue_arn]
    definitions = _definition_arns(stack, definition, "the stack's job definition")
    for index, route in enumerate(routes, start=1):
        where = f"routes rule {index} ({route.match})"
        if route.job_queue:
            queues.append(_queue_arn(stack, route.job_queue, where))
        if route.job_definition:
            definitions.extend(_definition_arns(stack, route.job_definition, where))
    return RouteTargets(tuple(dict.fromkeys(queues)), tuple(dict.fromkeys(definitions)))
