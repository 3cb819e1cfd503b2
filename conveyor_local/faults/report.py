"""The proxy's summary as a table a person reads (the test prints it, `local up` on exit)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conveyor_local.faults.answers import KINDS


def summary_table(summary: Mapping[str, Mapping[str, Any]], services: tuple[str, ...] = ()) -> str:
    """One row per service (those named, else every one seen): requests, then faults by kind."""
    header = ("service", "requests", *KINDS, "faults", "share")
    rows = [header]
    for service in services or tuple(sorted(summary)):
        entry = summary.get(service, {"requests": 0, "faults": {}})
        faults = [int(entry["faults"].get(kind, 0)) for kind in KINDS]
        requests = int(entry["requests"])
        share = f"{sum(faults) / requests:.1%}" if requests else "-"
        rows.append((service, str(requests), *map(str, faults), str(sum(faults)), share))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    )
