"""Tables for people; `--json` is for programs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

STATUS_STYLE = {
    "SUCCEEDED": "green",
    "FAILED": "red",
    "SUPERSEDED": "yellow",
    "SKIPPED": "dim",
}


def jobs_table(rows: Sequence[Mapping[str, Any]], console: Console | None = None) -> None:
    console = console or Console()
    if not rows:
        console.print("No versions match.")
        return
    table = Table(show_lines=False)
    for column in ("updated", "status", "key", "version", "transform", "job", "reason"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row.get("updated_at") or row.get("created_at") or "",
            _status(row.get("status")),
            row.get("key") or "",
            _short(row.get("version_id") or row.get("etag")),
            row.get("transform") or "",
            row.get("job_id") or "",
            row.get("status_reason") or "",
        )
    console.print(table)


def versions(rows: Sequence[Mapping[str, Any]], console: Console | None = None) -> None:
    console = console or Console()
    for row in rows:
        console.rule(f"s3://{row['bucket']}/{row['key']}")
        facts = Table.grid(padding=(0, 2))
        for name in (
            "status",
            "status_reason",
            "error",
            "outcome",
            "output",
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
            if row.get(name) not in (None, "", {}):
                facts.add_row(name, _fact(name, row[name]))
        console.print(facts)
        history = Table(title="history", title_justify="left")
        for column in ("at", "status", "job", "attempt", "exit", "reason"):
            history.add_column(column, overflow="fold")
        for entry in row.get("history", []):
            history.add_row(
                entry.get("at", ""),
                _status(entry.get("status")),
                entry.get("job_id", ""),
                str(entry.get("attempt", "")),
                str(entry.get("exit_code", "")),
                entry.get("reason", ""),
            )
        console.print(history)


def _fact(name: str, value: Any) -> str:
    if name == "status":
        return _status(value)
    if name in ("output", "archive") and isinstance(value, Mapping):
        where = f"s3://{value.get('bucket')}/{value.get('key')}"
        return f"{where} (version {value['version_id']})" if value.get("version_id") else where
    if name == "metrics" and isinstance(value, Mapping):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return escape(str(value))


def _status(status: str | None) -> str:
    if not status:
        return ""
    style = STATUS_STYLE.get(status)
    return f"[{style}]{status}[/]" if style else status


def _short(text: str | None, width: int = 12) -> str:
    if not text:
        return ""
    return text if len(text) <= width else text[: width - 1] + "…"
