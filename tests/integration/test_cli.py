"""`conveyor local provision`, `jobs` and `show`, in-process and as real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from completion_lambda import handler as completion_handler
from conveyor_cli.main import app
from tests.conftest import Stack
from tests.integration.helpers import fresh_completion_handler, state_change
from tests.integration.test_trigger import deliver, jobs_by_key
from trigger_lambda import handler as trigger_handler

runner = CliRunner()
REQUIRED = ("bucket", "key", "version_id", "status", "job_id", "transform", "status_reason")


def conveyor(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conveyor_cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


@pytest.fixture
def history(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """A ledger with one version in each of SUCCEEDED, FAILED, SUBMITTED and SKIPPED."""
    monkeypatch.setenv("CONVEYOR_ROUTES", json.dumps([{"match": "*.mov", "transform": "copy"}]))
    trigger_handler.trigger.cache_clear()
    fresh_completion_handler()
    for key in ("done/a.mov", "broken/b.mov", "waiting/c.mov", "notes/d.txt"):
        stack.s3.put_object(Bucket=stack.staging, Key=key, Body=b"x")
    assert deliver(stack, trigger_handler.handler, stack.receive_all(expected=4)) == []
    jobs = jobs_by_key(stack)
    completion_handler.handler(
        state_change(jobs["done/a.mov"][0], "SUCCEEDED", container={"exitCode": 0}), None
    )
    completion_handler.handler(
        state_change(
            jobs["broken/b.mov"][0],
            "FAILED",
            container={"exitCode": 65},
            statusReason="Essential container in task exited",
        ),
        None,
    )
    yield stack
    trigger_handler.trigger.cache_clear()
    fresh_completion_handler()


def as_json(*args: str) -> Any:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_jobs_lists_every_version_with_the_documented_fields(history: Stack) -> None:
    rows = as_json("jobs")
    assert {r["key"]: r["status"] for r in rows} == {
        "done/a.mov": "SUCCEEDED",
        "broken/b.mov": "FAILED",
        "waiting/c.mov": "SUBMITTED",
        "notes/d.txt": "SKIPPED",
    }
    for row in rows:
        assert set(REQUIRED) | {"updated_at"} <= set(row)
        assert row["bucket"] == history.staging
    assert [r["updated_at"] for r in rows] == sorted((r["updated_at"] for r in rows), reverse=True)


def test_jobs_filters(history: Stack) -> None:
    [failed] = as_json("jobs", "--status", "failed")
    assert (failed["key"], failed["exit_code"]) == ("broken/b.mov", 65)
    assert failed["status_reason"] == "Essential container in task exited"
    assert [r["key"] for r in as_json("jobs", "--key-prefix", "done/")] == ["done/a.mov"]
    assert as_json("jobs", "--status", "FAILED", "--key-prefix", "done/") == []
    assert len(as_json("jobs", "--since", "10m")) == 4
    assert as_json("jobs", "--since", "2999-01-01T00:00:00Z") == []
    assert len(as_json("jobs", "--limit", "2")) == 2


def test_show_by_key_and_by_job_id(history: Stack) -> None:
    [by_key] = as_json("show", "broken/b.mov")
    assert by_key["status"] == "FAILED"
    assert [h["status"] for h in by_key["history"]] == ["SUBMITTED", "FAILED"]
    [by_job] = as_json("show", by_key["job_id"])
    assert by_job["key"] == "broken/b.mov"
    [by_uri] = as_json("show", f"s3://{history.staging}/done/a.mov")
    assert by_uri["status"] == "SUCCEEDED"


def test_tables_for_people(history: Stack) -> None:
    listing = runner.invoke(app, ["jobs"], env={"COLUMNS": "200"})
    assert listing.exit_code == 0
    assert "broken/b.mov" in listing.stdout and "FAILED" in listing.stdout
    shown = runner.invoke(app, ["show", "broken/b.mov"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0
    assert "Essential container in task exited" in shown.stdout and "history" in shown.stdout


def test_errors_are_one_line_and_non_zero(history: Stack) -> None:
    missing = conveyor("show", "no/such/key.mov")
    assert missing.returncode == 1
    assert missing.stderr.strip() == (
        f"error: the ledger has no record of s3://{history.staging}/no/such/key.mov"
    )
    bad_since = conveyor("jobs", "--since", "yesterday")
    assert bad_since.returncode == 1 and len(bad_since.stderr.strip().splitlines()) == 1
    unset = conveyor("jobs", env={"CONVEYOR_LEDGER_TABLE": ""})
    assert unset.returncode == 1
    assert "missing setting: CONVEYOR_LEDGER_TABLE" in unset.stderr
    gone = conveyor("jobs", env={"CONVEYOR_LEDGER_TABLE": "no-such-table"})
    assert gone.returncode == 2 and "ResourceNotFoundException" in gone.stderr
    assert "Traceback" not in gone.stderr + unset.stderr + missing.stderr


def test_local_provision_prints_settings_and_is_repeatable(moto_endpoint: str) -> None:
    args = ("local", "provision", "--endpoint-url", moto_endpoint, "--name", "cli-provisioned")
    first, second = conveyor(*args), conveyor(*args)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    settings = dict(line.split("=", 1) for line in first.stdout.splitlines())
    assert settings == {
        "CONVEYOR_STAGING_BUCKET": "cli-provisioned-staging",
        "CONVEYOR_ARCHIVE_BUCKET": "cli-provisioned-archive",
        "CONVEYOR_OUTPUT_BUCKET": "cli-provisioned-output",
        "CONVEYOR_STAGING_QUEUE": settings["CONVEYOR_STAGING_QUEUE"],
        "CONVEYOR_LEDGER_TABLE": "cli-provisioned-ledger",
        "CONVEYOR_EVENTS_LOG_GROUP": "/conveyor/cli-provisioned/events",
    }
    assert settings["CONVEYOR_STAGING_QUEUE"].endswith("/cli-provisioned-staging-events")
    bad = conveyor("local", "provision", "--endpoint-url", moto_endpoint, "--name", "Bad_Name")
    assert bad.returncode == 1 and "stack name 'Bad_Name'" in bad.stderr


def test_every_command_has_help_with_an_example() -> None:
    import typer.main

    group = typer.main.get_command(app)
    commands = []
    for name, command in group.commands.items():
        sub = getattr(command, "commands", None)
        commands += [(name, n) for n in sub] if sub else [(name,)]
    assert ("jobs",) in commands and ("local", "provision") in commands
    for path in commands:
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, path
        assert "Example:" in result.stdout, f"{' '.join(path)} --help has no example"


def test_settings_from_a_deployed_stack(history: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    from conveyor.aws import client
    from conveyor.settings import output_name

    outputs = {
        output_name(name): {"Value": history.settings[name]}
        for name in ("CONVEYOR_LEDGER_TABLE", "CONVEYOR_STAGING_BUCKET")
    }
    template = {
        "Resources": {"Placeholder": {"Type": "AWS::SQS::Queue"}},
        "Outputs": outputs,
    }
    client("cloudformation").create_stack(
        StackName="ConveyorTest", TemplateBody=json.dumps(template)
    )
    monkeypatch.delenv("CONVEYOR_LEDGER_TABLE")
    monkeypatch.delenv("CONVEYOR_STAGING_BUCKET")
    result = runner.invoke(app, ["--stack", "ConveyorTest", "jobs", "--json"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == 4
    missing = conveyor("--stack", "NoSuchStack", "jobs")
    assert missing.returncode == 2 and "NoSuchStack" in missing.stderr
