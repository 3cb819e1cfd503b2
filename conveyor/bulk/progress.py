"""How a bulk run tells its caller how far it is (the CLI draws a progress bar on stderr)."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def start(self, phase: str, total: int | None) -> None:
        """A new phase (listing, claiming, submitting, recording) of `total` steps, or unknown."""

    def advance(self, steps: int = 1) -> None: ...


class Silent:
    """No progress shown (tests, --json runs without a terminal)."""

    def start(self, phase: str, total: int | None) -> None:
        return None

    def advance(self, steps: int = 1) -> None:
        return None
