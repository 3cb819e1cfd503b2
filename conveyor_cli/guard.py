"""Guards for commands that can act on everything: never by accident, never without asking.

An empty `--key-prefix ""` is most often an unset shell variable, and it would match every key: it
is refused. Acting on everything takes `--all`, and a yes on a terminal (`--yes` without one).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from conveyor.errors import ConveyorError

AllFlag = Annotated[bool, typer.Option("--all", help="Act on everything, with no filter.")]
YesFlag = Annotated[bool, typer.Option("--yes", "-y", help="With --all: do not ask first.")]


def not_empty(value: str | None, option: str, instead: str = "leave it out") -> str | None:
    """`value` unless it is the empty string, which would silently mean "no filter"."""
    if value == "":
        raise ConveyorError(f"{option} is empty: give it a value, or {instead}")
    return value


def scope(narrowed: bool, everything: bool, narrowing: str) -> None:
    """Exactly one of a narrowing option (`narrowing` names them) and `--all`."""
    if narrowed and everything:
        raise ConveyorError(f"--all acts on everything; drop it, or drop {narrowing}")
    if not narrowed and not everything:
        raise ConveyorError(f"name {narrowing}, or use --all to act on everything")


def confirm(action: str, *, yes: bool, dry_run: bool = False) -> None:
    """Ask before `action` on everything; without a terminal to ask, `--yes` must say so."""
    if yes or dry_run:
        return
    if not interactive():
        raise ConveyorError(f"--all would {action}; add --yes to confirm (no terminal to ask)")
    typer.confirm(f"This will {action}. Go on?", abort=True, err=True)


def interactive() -> bool:
    """Whether a person can answer a question on this terminal."""
    return sys.stdin.isatty()
