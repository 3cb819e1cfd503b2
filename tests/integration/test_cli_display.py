"""What the operator's terminal shows: keys literally, the real reason, newest first."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from completion_lambda import handler as completion_handler
from conveyor.events.batch import JobStateChange
from conveyor.objects import ObjectVersion
from conveyor.status import Status
from conveyor_cli.main import app
from conveyor_cli.text import visible
from tests.conftest import Stack
from tests.integration.helpers import fresh_completion_handler, state_change
from tests.integration.test_trigger import deliver, jobs_by_key, ledger
from trigger_lambda import handler as trigger_handler

runner = CliRunner()
BATCH_REASON = "Essential container in task exited"
ODD_KEYS = [
    "odd/[/]close.mov",
    "odd/[x]vanish.mov",
    "odd/[bold]b[/]old.mov",
    "odd/\x1b[2Jclear.mov",
    "odd/new\nline.mov",
    "odd/del\x7f csi\x9b2J.mov",
]
RAW = ("\x1b", "\x7f", "\x9b")


def cli(*args: str, columns: int = 200) -> Any:
    result = runner.invoke(app, list(args), env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout) if "--json" in args else result.stdout


@pytest.fixture
def routed(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    monkeypatch.setenv("CONVEYOR_ROUTES", json.dumps([{"match": "*.mov", "transform": "copy"}]))
    trigger_handler.trigger.cache_clear()
    fresh_completion_handler()
    yield stack
    trigger_handler.trigger.cache_clear()
    fresh_completion_handler()


def arrive(stack: Stack, *keys: str) -> dict[str, list[dict[str, Any]]]:
    """Upload `keys` one after the other, each through the trigger before the next."""
    for key in keys:
        stack.s3.put_object(Bucket=stack.staging, Key=key, Body=b"x")
        assert deliver(stack, trigger_handler.handler, stack.receive_all(expected=1)) == []
    return jobs_by_key(stack)


def fail(stack: Stack, job: dict[str, Any], error: str | None = None) -> None:
    """Batch says FAILED with its own words; the worker had recorded `error` first."""
    if error:
        [item] = ledger(stack).versions_of(stack.staging, job["parameters"]["key"])
        ledger(stack).annotate(item, {"error": error, "outcome": "bad input"})
    change = state_change(job, "FAILED", container={"exitCode": 65}, statusReason=BATCH_REASON)
    completion_handler.handler(change, None)


def failed_in_ledger(stack: Stack, key: str) -> None:
    """A FAILED version of `key`, written to the ledger directly: moto takes no newline in a key,
    and cannot list (XML) keys with control characters, which real S3 does."""
    version = ObjectVersion(stack.staging, key, uuid.uuid4().hex, 1, uuid.uuid4().hex)
    assert ledger(stack).claim(version, transform="copy")
    params = {"bucket": stack.staging, "key": key, "version_id": version.version_id or ""}
    params |= {"etag": version.etag, "transform": "copy"}
    change = JobStateChange(
        job_id=str(uuid.uuid4()),
        status=Status.FAILED,
        parameters=params,
        status_reason=BATCH_REASON,
        exit_code=65,
    )
    assert ledger(stack).apply(change)


def test_keys_are_printed_literally_by_every_command(stack: Stack) -> None:
    for key in ODD_KEYS:
        failed_in_ledger(stack, key)
    listings = {
        "jobs": cli("jobs"),
        "jobs --status": cli("jobs", "--status", "FAILED"),
        "resubmit --failed": cli("resubmit", "--failed", "--key-prefix", "odd/", "--dry-run"),
    }
    for command, out in listings.items():
        for key in ODD_KEYS:
            assert visible(key) in out, (command, key)
        assert not any(raw in out for raw in RAW), command
    assert "[x]vanish" in listings["jobs"] and "\\x1b[2Jclear" in listings["jobs"]
    for key in ODD_KEYS:
        shown = cli("show", key)
        assert f"/{visible(key)}" in shown and not any(raw in shown for raw in RAW), key

    rows = cli("jobs", "--json")
    assert sorted(r["key"] for r in rows) == sorted(ODD_KEYS)  # exact keys for programs
    raw_json = runner.invoke(app, ["jobs", "--json"]).stdout
    assert not any(raw in raw_json for raw in RAW)


def test_an_error_naming_a_key_is_one_escaped_line(stack: Stack) -> None:
    key = "no/[/]\x1b[2J\nforged line"
    done = subprocess.run(
        [sys.executable, "-m", "conveyor_cli", "show", key],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr == (
        f"error: the ledger has no record of s3://{stack.staging}/no/[/]\\x1b[2J\\nforged line\n"
    )


def test_upload_summary_prints_file_names_literally(stack: Stack, tmp_path: Path) -> None:
    names = ["[/]a.txt", "[x]b.txt", "\x1b[2Jc.txt", "cr\rreturn.txt"]  # moto takes no \n
    for name in names:  # "[/]a.txt" is the file "]a.txt" in the folder "["
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(name.encode())
    out = cli("upload", str(tmp_path), "--key-prefix", "in/")
    for name in names:
        assert visible(name) in out and visible(f"in/{name}") in out
    assert "\x1b" not in out and "4 uploaded, 0 skipped, 0 failed" in out
    listed = stack.s3.list_objects_v2(Bucket=stack.staging)["Contents"]
    assert sorted(o["Key"] for o in listed) == sorted(f"in/{n}" for n in names)


def test_jobs_shows_the_workers_error_and_nothing_for_a_success(routed: Stack) -> None:
    jobs = arrive(routed, "r/done.mov", "r/broken.mov", "r/batch-only.mov", "r/notes.txt")
    completion_handler.handler(
        state_change(
            jobs["r/done.mov"][0],
            "SUCCEEDED",
            container={"exitCode": 0},
            statusReason=BATCH_REASON,
        ),
        None,
    )
    fail(routed, jobs["r/broken.mov"][0], error="the object is empty (0 bytes)")
    fail(routed, jobs["r/batch-only.mov"][0])  # the worker never got to record anything
    lines = cli("jobs", columns=120).splitlines()
    [done] = [line for line in lines if "r/done.mov" in line]
    [broken] = [line for line in lines if "r/broken.mov" in line]
    [batch_only] = [line for line in lines if "r/batch-only.mov" in line]
    [skipped] = [line for line in lines if "r/notes.txt" in line]
    assert "the object is empty (0 bytes)" in broken and BATCH_REASON not in broken
    assert "SUCCEEDED" in done and "Essential" not in done
    assert BATCH_REASON in batch_only
    assert "no route" in skipped
    [failed] = cli("jobs", "--key-prefix", "r/broken", "--json")  # JSON keeps both, as they are
    assert (failed["status_reason"], failed["error"]) == (
        BATCH_REASON,
        "the object is empty (0 bytes)",
    )


def test_a_prefix_listing_is_newest_first_and_limit_keeps_the_newest(routed: Stack) -> None:
    arrive(routed, "p/a.txt", "p/b.txt", "p/c.txt", "q/d.txt")  # no route: each SKIPPED on arrival
    rows = cli("jobs", "--key-prefix", "p/", "--json")
    assert [r["key"] for r in rows] == ["p/c.txt", "p/b.txt", "p/a.txt"]
    assert [r["updated_at"] for r in rows] == sorted((r["updated_at"] for r in rows), reverse=True)
    newest = cli("jobs", "--key-prefix", "p/", "--limit", "2", "--json")
    assert [r["key"] for r in newest] == ["p/c.txt", "p/b.txt"]
