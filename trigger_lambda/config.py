"""The trigger's settings, read once at cold start; a missing or invalid one fails the init."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from conveyor import settings
from conveyor.routing import Route, parse_routes


@dataclass(frozen=True)
class TriggerConfig:
    ledger_table: str
    job_queue: str
    job_definition: str
    routes: tuple[Route, ...]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TriggerConfig:
        values = settings.require(
            (settings.LEDGER_TABLE, settings.JOB_QUEUE, settings.JOB_DEFINITION), environ
        )
        return cls(
            ledger_table=values[settings.LEDGER_TABLE],
            job_queue=values[settings.JOB_QUEUE],
            job_definition=values[settings.JOB_DEFINITION],
            routes=parse_routes(settings.optional(settings.ROUTES, environ)),
        )
