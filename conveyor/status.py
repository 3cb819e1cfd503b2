"""Statuses of an object version in the ledger, and how they rank within one job attempt."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    SUBMITTED = "SUBMITTED"
    PENDING = "PENDING"
    RUNNABLE = "RUNNABLE"
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    SUPERSEDED = "SUPERSEDED"
    """The worker found a newer upload of the key; the original was still archived."""
    SKIPPED = "SKIPPED"
    """No route matched: no job was submitted and the original stays in staging."""


TERMINAL = frozenset({Status.SUCCEEDED, Status.FAILED, Status.SUPERSEDED})
"""A job in one of these never changes again."""

RANK = {
    Status.SKIPPED: -1,
    Status.SUBMITTED: 0,
    Status.PENDING: 1,
    Status.RUNNABLE: 2,
    Status.STARTING: 3,
    Status.RUNNING: 4,
    Status.SUCCEEDED: 5,
    Status.FAILED: 5,
    Status.SUPERSEDED: 5,
}
"""Order of states within one attempt of one job: an event never moves a job down this list."""
