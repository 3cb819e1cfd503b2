"""What reaches the operator's terminal: keys as they are, reasons that say something, tables
that fit 80 columns."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from conveyor.ledger.views import reason
from conveyor_cli import render
from conveyor_cli.text import UNSAFE, literal, to_json, to_json_array, visible

HOSTILE = "odd/[/] [x] [bold]b[/] \x1b[2J new\nline \x7f \x9b2J \u202egnp.exe"


def printed(renderable: object, width: int = 200) -> str:
    out = io.StringIO()
    Console(file=out, width=width, color_system=None).print(renderable)
    return out.getvalue()


def test_visible_escapes_every_control_and_keeps_the_rest() -> None:
    assert visible(HOSTILE) == (
        "odd/[/] [x] [bold]b[/] \\x1b[2J new\\nline \\x7f \\x9b2J \\u202egnp.exe"
    )
    assert visible("ünïcödé/日本語/ファイル.mov\ttab\r") == "ünïcödé/日本語/ファイル.mov\\ttab\\r"
    assert visible("\x00\x1f") == "\\x00\\x1f"


def test_literal_is_never_markup() -> None:
    assert printed(literal(HOSTILE)) == visible(HOSTILE) + "\n"


def test_json_escapes_what_json_dumps_leaves_raw_and_decodes_to_the_same_values() -> None:
    rows = [{"key": HOSTILE, HOSTILE: 1}, {"other": [HOSTILE]}]
    for dump in (to_json, to_json_array):
        text = dump(rows)
        assert not UNSAFE.search(text.replace("\n", ""))  # the newlines are the layout's
        assert "\x7f" not in text and "\x9b" not in text and "\u202e" not in text
        assert json.loads(text) == rows
        assert "日本語" in dump(["日本語"])  # still readable, not \u-escaped
    assert json.loads(to_json_array([])) == []


def test_reason_is_what_a_person_needs() -> None:
    batch = "Essential container in task exited"
    assert reason({"status": "FAILED", "status_reason": batch, "error": "empty file"}) == (
        "empty file"
    )
    assert reason({"status": "FAILED", "status_reason": batch}) == batch
    assert reason({"status": "SUCCEEDED", "status_reason": batch}) == ""
    superseded = {
        "status": "SUPERSEDED",
        "status_reason": batch,  # Batch's SUCCEEDED came after the worker's verdict
        "history": [
            {"status": "SUBMITTED"},
            {"status": "SUPERSEDED", "reason": "a newer upload of this key owns the output"},
            {"status": "SUCCEEDED", "reason": batch},
        ],
    }
    assert reason(superseded) == "a newer upload of this key owns the output"
    assert reason({"status": "SKIPPED", "status_reason": "no route"}) == "no route"
    assert reason({"status": None, "status_reason": "SubmitJob throttled"}) == "SubmitJob throttled"
    assert reason({"status": "SUBMITTED", "status_reason": "resubmission of job x"}) == (
        "resubmission of job x"
    )


ROWS = [
    {
        "updated_at": "2026-05-01T12:03:04.567Z",
        "status": "FAILED",
        "key": "broken/b.mov",
        "version_id": "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY",
        "transform": "h264-1080p",
        "job_id": "4c7599ae-0a82-49aa-ba5a-4727fcce14a8",
        "status_reason": "Essential container in task exited",
        "error": "not a video",
    },
    {
        "updated_at": "2026-05-01T12:02:04.567Z",
        "status": "SUCCEEDED",
        "key": "done/a.mov",
        "version_id": "Lp0XFm2iN0n8pAeXbG2Y8GxQZpcTVWHB",
        "transform": "h264-720p",
        "job_id": "9d2f4a1c-6b3e-4c1a-8f7e-2a1b3c4d5e6f",
        "status_reason": "Essential container in task exited",
    },
]


def jobs_table_at(width: int) -> str:
    out = io.StringIO()
    render.jobs_table(ROWS, Console(file=out, width=width, color_system=None))
    return out.getvalue()


def test_jobs_table_at_80_columns_keeps_keys_statuses_and_reasons_whole() -> None:
    text = jobs_table_at(80)
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines)
    for row in ROWS:
        [line] = [line for line in lines if row["key"] in line]  # one line, not folded
        assert row["status"] in line and "05-01 12:0" in line
    assert "not a video" in text and "Essential container" not in text
    wide = jobs_table_at(200)
    assert "4c7599ae-0a82-49aa-ba5a-4727fcce14a8" in wide and "2026-05-01 12:03:04" in wide


def test_operator_reports_at_80_columns_keep_a_row_on_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from conveyor_cli.operate import _report

    monkeypatch.setenv("COLUMNS", "80")
    row = {
        "key": "clips/x.bin",
        "version_id": "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY",
        "old_job": "4c7599ae-0a82-49aa-ba5a-4727fcce14a8",
        "action": "resubmitted",
        "reason": "",
        "new_job": "9d2f4a1c-6b3e-4c1a-8f7e-2a1b3c4d5e6f",
    }
    _report([row], False, "resubmit")
    lines = capsys.readouterr().out.splitlines()
    assert all(len(line) <= 80 for line in lines)
    [line] = [line for line in lines if "clips/x.bin" in line]
    assert "resubmitted" in line and "9d2f4a1c" in line
    assert lines[-1] == line  # the row is this one line: nothing folded below it


def test_a_written_escape_never_looks_like_the_character() -> None:
    from conveyor_cli.text import visible

    assert visible("a\x1bb") != visible("a\\x1bb")
    assert visible("a\\x1bb") == "a\\\\x1bb"
