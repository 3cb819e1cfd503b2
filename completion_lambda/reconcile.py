"""Lambda entry point, every 15 minutes: what `conveyor reconcile` does, with EMF metrics.

The completion Lambda's failed invocations end in its failure queue; this puts the ledger right
for them (and for any other event lost on the way) from what Batch says of each job, and puts the
"Object Processed" / "Object Failed" events of the day's ends whose PutEvents never succeeded.
"""

from __future__ import annotations

from collections import Counter
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit

from conveyor import settings
from conveyor.aws import clients
from conveyor.clock import utcnow
from conveyor.events.publisher import Publisher
from conveyor.ledger.store import Ledger
from conveyor.reconcile import (
    ANNOUNCED,
    JOB_LOST,
    NOT_ANNOUNCED,
    WOULD_ANNOUNCE,
    oldest_in_flight_seconds,
    reconcile,
)

logger = Logger(service="conveyor-reconcile")
copy_config_to_registered_loggers(source_logger=logger, include={"conveyor", "completion_lambda"})
metrics = Metrics(namespace="Conveyor", service="conveyor-reconcile")


@cache
def _clients() -> tuple[Ledger, Any, Publisher]:
    """Built once per container, on the first invocation."""
    table = settings.require([settings.LEDGER_TABLE])[settings.LEDGER_TABLE]
    dynamodb, batch, events = clients("dynamodb", "batch", "events")
    return Ledger(dynamodb, table), batch, Publisher.from_settings(events)


@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    ledger, batch, publisher = _clients()
    now = utcnow()
    rows = reconcile(ledger, batch, now=now, publisher=publisher)
    for row in rows:
        if row["action"] == "updated":
            logger.warning("ledger entry reconciled from Batch", extra=row)
        elif row["action"] == ANNOUNCED:
            logger.warning("an end's lost event announced", extra=row)
    counts = summary(rows)
    metrics.add_metric(name="EntriesChecked", unit=MetricUnit.Count, value=counts["checked"])
    metrics.add_metric(name="EntriesReconciled", unit=MetricUnit.Count, value=counts["updated"])
    metrics.add_metric(name="JobsLost", unit=MetricUnit.Count, value=counts["lost"])
    metrics.add_metric(name="EventsAnnounced", unit=MetricUnit.Count, value=counts["announced"])
    # Still failing: the next run (every 15 minutes, for ANNOUNCE_WINDOW) tries them again.
    metrics.add_metric(name="EventsUnannounced", unit=MetricUnit.Count, value=counts["unannounced"])
    # The "work stuck" alarm: in flight far longer than a job may run means nothing moves it.
    oldest = oldest_in_flight_seconds(rows, now)
    metrics.add_metric(name="OldestInFlightSeconds", unit=MetricUnit.Seconds, value=oldest)
    return counts


def summary(rows: list[dict[str, Any]]) -> dict[str, int]:
    """How many entries were asked about, changed, and found lost; how many lost events of
    past ends were announced, and how many could not be, again."""
    actions = Counter(row["action"] for row in rows)
    lost = sum(1 for row in rows if row["action"] == "updated" and row["reason"] == JOB_LOST)
    ends = actions[ANNOUNCED] + actions[NOT_ANNOUNCED] + actions[WOULD_ANNOUNCE]
    return {
        "checked": len(rows) - ends,
        "updated": actions["updated"],
        "lost": lost,
        "announced": actions[ANNOUNCED],
        "unannounced": actions[NOT_ANNOUNCED],
    }
