"""Time as the ledger stores it: ISO 8601 UTC strings that sort the way time does."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """Millisecond precision, always UTC, always the same width, so strings compare as times."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def iso_from_millis(millis: int) -> str:
    return iso(datetime.fromtimestamp(millis / 1000, UTC))


def millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
