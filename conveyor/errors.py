"""The few errors Conveyor raises; entry points turn them into one clear line or an exit code."""

from __future__ import annotations


class ConveyorError(Exception):
    """Base of every error meant for a person to read."""


class ConfigError(ConveyorError):
    """A setting is missing or invalid: nothing can run until it is fixed."""


class BadEvent(ConveyorError):
    """An event or message does not have the shape AWS documents; retrying will not help."""


class BadInput(ConveyorError):
    """A job's input (or what its route asked of it) can never succeed: exit 65, never retried;
    the reason goes to the ledger and the original stays in staging."""


class NotFound(ConveyorError):
    """What was asked for is not in the ledger or the bucket."""


class SubmitFailed(ConveyorError):
    """Batch refused or throttled SubmitJob; the claim was released so a retry can submit."""


class InProgress(ConveyorError):
    """Someone is already doing this to the same object version (a second resubmission)."""
