"""Tables for people; `--json` is for programs.

Every value from the ledger, S3 or the disk goes in as a `literal` (never markup, controls
escaped). Tables fit the terminal: below `WIDE` columns, ids and times are shortened so that keys
and reasons keep room to be read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich import box
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from conveyor.ledger.views import reason
from conveyor_cli.media import outputs_table, probe_line
from conveyor_cli.text import literal

STATUS_STYLE = {
    "SUCCEEDED": "green",
    "FAILED": "red",
    "SUPERSEDED": "yellow",
    "SKIPPED": "dim",
}
WIDE = 150
"""Columns from which the jobs table shows full job ids, versions and times."""
MEDIUM = 110
"""Columns from which short job ids fit beside keys and reasons; below, only what a person reads."""


def jobs_table(rows: Sequence[Mapping[str, Any]], console: Console | None = None) -> None:
    console = console or Console()
    if not rows:
        console.print("No versions match.")
        return
    width = console.width
    cells = {
        "updated": lambda r: moment(r.get("updated_at") or r.get("created_at"), width >= MEDIUM),
        "status": lambda r: status_text(r.get("status")),
        "key": lambda r: literal(r.get("key") or ""),
        "version": lambda r: literal(short(r.get("version_id") or r.get("etag"))),
        "transform": lambda r: literal(r.get("transform") or ""),
        "job": lambda r: literal(short(r.get("job_id"), 36 if width >= WIDE else 9)),
        "reason": lambda r: literal(reason(r)),
    }
    shown = jobs_columns(width)
    table = grid_table()
    for name in shown:  # keys, transforms and reasons fold; the short fixed-width ones never do
        table.add_column(
            name, overflow="fold", no_wrap=name in ("updated", "status", "version", "job")
        )
    for row in rows:
        table.add_row(*(cells[name](row) for name in shown))
    console.print(table)


def jobs_columns(width: int) -> list[str]:
    """Keys, statuses and reasons always; times shortened, then ids dropped, as room shrinks."""
    if width >= WIDE:
        return ["updated", "status", "key", "version", "transform", "job", "reason"]
    if width >= MEDIUM:
        return ["updated", "status", "key", "transform", "job", "reason"]
    return ["updated", "status", "key", "transform", "reason"]


def versions(rows: Sequence[Mapping[str, Any]], console: Console | None = None) -> None:
    console = console or Console()
    for row in rows:
        console.rule(literal(f"s3://{row['bucket']}/{row['key']}"))
        facts = Table.grid(padding=(0, 2))
        facts.add_column(no_wrap=True)
        facts.add_column(overflow="fold")
        for name in (
            "status",
            "status_reason",
            "progress",
            "error",
            "outcome",
            "probe",
            "output",
            "outputs",
            "archive",
            "metrics",
            "version_id",
            "etag",
            "size",
            "transform",
            "output_key",
            "job_id",
            "job_name",
            "job_queue",
            "attempt",
            "exit_code",
            "log_stream",
            "created_at",
            "started_at",
            "stopped_at",
            "updated_at",
        ):
            if row.get(name) not in (None, "", {}, []):
                facts.add_row(name, _fact(name, row[name], row))
        console.print(facts)
        history = grid_table(title="history")
        history.add_column("at", no_wrap=True)
        history.add_column("status", no_wrap=True)
        history.add_column("job", no_wrap=True)
        history.add_column("attempt", no_wrap=True)
        history.add_column("exit", no_wrap=True)
        history.add_column("reason", overflow="fold", ratio=1)
        for entry in row.get("history", []):
            history.add_row(
                literal(moment(entry.get("at"))),
                status_text(entry.get("status")),
                literal(short(entry.get("job_id"), 36 if console.width >= MEDIUM else 9)),
                literal(entry.get("attempt", "")),
                literal(entry.get("exit_code", "")),
                literal(entry.get("reason", "")),
            )
        console.print(history)


def grid_table(title: str | None = None) -> Table:
    """A table without vertical rules: three characters saved per column at 80 columns."""
    return Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )


def status_text(status: str | None) -> Text:
    if not status:
        return Text("")
    return literal(status, STATUS_STYLE.get(status, ""))


def moment(at: str | None, wide: bool = True) -> str:
    """`2026-05-01T12:03:04.567Z` as `2026-05-01 12:03:04`, or `05-01 12:03` when narrow."""
    if not at:
        return ""
    plain = at.replace("T", " ").rstrip("Z").split(".")[0]
    return plain if wide else plain[5:16]


def short(text: str | None, width: int = 12) -> str:
    if not text:
        return ""
    return text if len(text) <= width else text[: width - 1] + "…"


def _fact(name: str, value: Any, row: Mapping[str, Any]) -> RenderableType:
    if name == "status":
        return status_text(value)
    if name == "probe" and isinstance(value, Mapping):
        return probe_line(value)
    if name == "outputs" and isinstance(value, list):
        return outputs_table(value)
    if name in ("output", "archive") and isinstance(value, Mapping):
        where = f"s3://{value.get('bucket')}/{value.get('key')}"
        version = value.get("version_id")
        return literal(f"{where} (version {version})" if version else where)
    if name == "progress":
        return literal(f"{value}% at {moment(row.get('progress_at'))}")
    if name == "metrics" and isinstance(value, Mapping):
        return literal(", ".join(f"{k} {v}" for k, v in value.items()))
    return literal(value)
