"""The age of the oldest entry still in flight: what the "work stuck" alarm watches."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from conveyor.reconcile import oldest_in_flight_seconds

NOW = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)


def row(updated_at: str, status: str = "RUNNING", action: str = "unchanged") -> dict[str, Any]:
    """A row of reconcile's answer, as much of it as the age needs."""
    return {"updated_at": updated_at, "ledger_status": status, "action": action}


def test_the_oldest_unmoved_entry_in_flight_sets_the_age() -> None:
    rows = [
        row("2026-11-26T12:00:00.000Z"),  # an hour
        row("2026-11-26T10:00:00.000Z", status="RUNNABLE"),  # three hours: the oldest
        row("2026-11-26T12:30:00.000Z", status="SUBMITTED"),
    ]
    assert oldest_in_flight_seconds(rows, NOW) == 3 * 3600


def test_entries_that_moved_or_ended_are_not_stuck() -> None:
    rows = [
        row("2026-11-26T01:00:00.000Z", action="updated"),  # reconcile just moved it
        row("2026-11-26T02:00:00.000Z", status="SUCCEEDED"),
        row("2026-11-26T12:59:00.000Z", action="would update"),  # dry run: still in flight
    ]
    assert oldest_in_flight_seconds(rows, NOW) == 60


def test_nothing_in_flight_is_zero() -> None:
    assert oldest_in_flight_seconds([], NOW) == 0
