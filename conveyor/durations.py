"""`--since 2h30m` and friends: a duration back from now, or an ISO 8601 moment."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from conveyor.errors import ConveyorError

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_PART = re.compile(r"(\d+)([smhdw])")


def parse_duration(text: str) -> timedelta:
    """`90s`, `15m`, `2h30m`, `1d`, `2w`."""
    cleaned = text.strip().lower()
    parts = _PART.findall(cleaned)
    if not cleaned or "".join(n + u for n, u in parts) != cleaned:
        raise ConveyorError(
            f"not a duration: {text!r} (use a number and a unit s, m, h, d or w, e.g. 2h30m)"
        )
    total = timedelta()
    for number, unit in parts:
        total += timedelta(**{_UNITS[unit]: int(number)})
    return total


def since(text: str, now: datetime) -> datetime:
    """The moment `text` names: `now` minus a duration, or an ISO 8601 time (UTC if unzoned)."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return now - parse_duration(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
