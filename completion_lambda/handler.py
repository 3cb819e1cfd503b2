"""Lambda entry point for the EventBridge rule on this job queue's "Batch Job State Change"."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from completion_lambda.record import record
from conveyor import settings
from conveyor.aws import client
from conveyor.events.batch import parse_job_state_change
from conveyor.events.publisher import Publisher
from conveyor.ledger.store import Ledger
from conveyor.manifest import ManifestReader

logger = Logger(service="conveyor-completion")
copy_config_to_registered_loggers(source_logger=logger, include={"conveyor", "completion_lambda"})


@cache
def ledger() -> Ledger:
    """Built once per container, on the first invocation."""
    table = settings.require([settings.LEDGER_TABLE])[settings.LEDGER_TABLE]
    return Ledger(client("dynamodb"), table)


@cache
def manifests() -> ManifestReader:
    """Array children's versions; built once per container, keeping manifest headers warm."""
    return ManifestReader(client("s3"))


@cache
def publisher() -> Publisher:
    """EventBridge, for the "Object Processed" / "Object Failed" events; built once."""
    return Publisher.from_settings(client("events"))


def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    """One event per invocation: an error (an unreadable manifest, a ledger failure, a refused
    PutEvents) fails only this event, which Lambda retries and then sends to the failure queue
    (reconcile repairs the ledger)."""
    change = parse_job_state_change(event)
    result = record(ledger(), change, manifests(), publisher())
    return {"job_id": change.job_id, "result": result.value}
