"""Commands that could act on everything: never by an empty argument, never without asking."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from completion_lambda import handler as completion_handler
from conveyor.errors import ConveyorError
from conveyor_cli import guard
from conveyor_cli.main import app
from tests.conftest import Stack
from tests.integration.helpers import fresh_completion_handler, state_change
from tests.integration.test_trigger import deliver, jobs_by_key
from trigger_lambda import handler as trigger_handler

runner = CliRunner()


def refused(*args: str, says: str, tty_answer: str | None = None) -> None:
    """The command stops with one ConveyorError (exit 1) that says `says`."""
    result = runner.invoke(app, list(args), input=tty_answer)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, ConveyorError), (result.exception, result.output)
    assert says in str(result.exception)


def ok(*args: str, tty_answer: str | None = None) -> Any:
    result = runner.invoke(app, [*args, "--json"], input=tty_answer)
    assert result.exit_code == 0, (result.output, result.exception)
    out = result.stdout
    if tty_answer:  # the question went to stderr; CliRunner echoes the answer to stdout
        out = out.partition("\n")[2]
    return json.loads(out)


def staging_keys(stack: Stack) -> list[str]:
    return sorted(
        o["Key"] for o in stack.s3.list_objects_v2(Bucket=stack.staging).get("Contents", [])
    )


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if run by a person at a terminal, who can be asked."""
    monkeypatch.setattr(guard, "interactive", lambda: True)


def test_upload_refuses_an_empty_path_and_a_key_prefix_from_the_root(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "here.txt").write_bytes(b"here")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "deep.txt").write_bytes(b"deep")
    monkeypatch.chdir(tmp_path)
    refused("upload", "", says="an empty path names no file")
    refused("upload", "sub", "", says="an empty path names no file")
    refused("upload", "here.txt", "--key-prefix", "/abs/", says="starts with '/'")
    refused("upload", "sub", "--key-prefix", "/", says="starts with '/'")
    assert staging_keys(stack) == []  # nothing uploaded
    done = ok("upload", ".", "--key-prefix", "in/")  # the current folder, named as such
    assert sorted(r["key"] for r in done) == ["in/here.txt", "in/sub/deep.txt"]


def test_jobs_refuses_an_empty_filter(stack: Stack) -> None:
    refused("jobs", "--key-prefix", "", says="--key-prefix is empty")
    refused("jobs", "--since", "", says="--since is empty")


def test_reprocess_takes_a_prefix_or_all_and_asks_first(stack: Stack, terminal: None) -> None:
    archive = stack.settings["CONVEYOR_ARCHIVE_BUCKET"]
    for key in ("old/a.bin", "other/b.bin"):
        stack.s3.put_object(Bucket=archive, Key=key, Body=key.encode())
    refused("reprocess", "--key-prefix", "", says="--key-prefix is empty")
    refused("reprocess", says="name --key-prefix, or use --all")
    refused("reprocess", "--all", "--key-prefix", "old/", says="--all acts on everything")
    no = runner.invoke(app, ["reprocess", "--all"], input="n\n")
    assert no.exit_code == 1 and "copy every archived original back" in no.output
    assert staging_keys(stack) == []
    planned = ok("reprocess", "--all", "--dry-run")  # changes nothing: nothing to confirm
    assert {r["action"] for r in planned} == {"would copy back"}
    assert staging_keys(stack) == []
    done = ok("reprocess", "--all", tty_answer="y\n")
    assert sorted(r["key"] for r in done) == ["old/a.bin", "other/b.bin"]
    assert staging_keys(stack) == ["old/a.bin", "other/b.bin"]


def test_all_without_a_terminal_needs_yes(stack: Stack) -> None:
    archive = stack.settings["CONVEYOR_ARCHIVE_BUCKET"]
    stack.s3.put_object(Bucket=archive, Key="old/a.bin", Body=b"a")
    refused("reprocess", "--all", says="add --yes")
    assert staging_keys(stack) == []
    [row] = ok("reprocess", "--all", "--yes")
    assert row["action"] == "copied back"


def test_resubmit_failed_takes_a_filter_or_all(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVEYOR_ROUTES", json.dumps([{"match": "*", "transform": "copy"}]))
    trigger_handler.trigger.cache_clear()
    fresh_completion_handler()
    stack.s3.put_object(Bucket=stack.staging, Key="x.bin", Body=b"x")
    deliver(stack, trigger_handler.handler, stack.receive_all(expected=1))
    [job] = jobs_by_key(stack)["x.bin"]
    completion_handler.handler(state_change(job, "FAILED", container={"exitCode": 75}), None)
    try:
        refused("resubmit", "--failed", says="name --since or --key-prefix, or use --all")
        refused("resubmit", "--failed", "--key-prefix", "", says="--key-prefix is empty")
        refused("resubmit", "--failed", "--since", "1h", "--key-prefix", "", says="is empty")
        refused("resubmit", "--failed", "--since", "", says="--since is empty")
        refused("resubmit", "--all", says="--all goes with --failed")
        refused("resubmit", "--failed", "--all", says="add --yes")
        assert len(jobs_by_key(stack)["x.bin"]) == 1  # nothing resubmitted
        [row] = ok("resubmit", "--failed", "--all", "--yes")
        assert row["action"] == "resubmitted"
        assert len(jobs_by_key(stack)["x.bin"]) == 2
    finally:
        trigger_handler.trigger.cache_clear()
        fresh_completion_handler()
