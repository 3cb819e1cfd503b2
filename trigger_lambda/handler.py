"""Lambda entry point: parse the delivery, hand each notification to the `Trigger`, report failures.

From SQS, only the messages that failed come back in `batchItemFailures`, so SQS retries just those
and its DLQ catches poison messages. A direct S3 or EventBridge invocation raises if anything
failed, so Lambda retries it (duplicates are harmless: the ledger claims each version once).
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from conveyor.errors import ConfigError
from conveyor.events.s3 import parse_body, parse_message
from trigger_lambda.factory import build_trigger
from trigger_lambda.service import Trigger

logger = Logger(service="conveyor-trigger")
copy_config_to_registered_loggers(source_logger=logger, include={"conveyor", "trigger_lambda"})
processor = BatchProcessor(event_type=EventType.SQS)


@cache
def trigger() -> Trigger:
    """Built once per container (clients and settings); in Lambda at cold start, see below."""
    return build_trigger()


def cold_start() -> None:
    """Build the trigger now, so a bad setting fails Lambda's init in one log line: every
    invocation then fails visibly and SQS keeps the messages (retried, then the DLQ), rather
    than each message failing on its own."""
    try:
        trigger()
    except ConfigError as err:
        logger.error(f"cannot start: {err}")
        raise


if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):  # set by Lambda; tests import this module
    cold_start()  # before their settings exist, and build the trigger on first use


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if _from_sqs(event):
        return process_partial_response(
            event=event, record_handler=_record, processor=processor, context=context
        )
    outcomes = trigger().handle_message(parse_message(event))
    return {"outcomes": [o.value for o in outcomes]}


def _record(record: SQSRecord) -> None:
    trigger().handle_message(parse_body(record.body))


def _from_sqs(event: dict[str, Any]) -> bool:
    records = event.get("Records") or []
    return bool(records) and records[0].get("eventSource") == "aws:sqs"
