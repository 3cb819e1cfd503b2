"""`conveyor reprocess` above its threshold: the copies run as one array job, the trigger's own
deliveries of them submit nothing more, and a re-run after a crash copies nothing back twice."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from conveyor import manifest
from conveyor.bulk import arrays
from conveyor_cli.main import app
from tests.conftest import Stack
from tests.integration.test_bulk_resubmit import Crash, arrays_on_queue, ordinary_jobs
from tests.integration.test_trigger import COPY_EVERYTHING, deliver
from tests.integration.worker import ledger
from trigger_lambda import handler as trigger_handler

runner = CliRunner()
BULK = ("reprocess", "--key-prefix", "old/", "--transform", "gzip", "--array-threshold", "2")


def cli(*args: str, code: int = 0) -> Any:
    result = runner.invoke(app, [*args, "--json"], env={"COLUMNS": "200"})
    assert result.exit_code == code, (result.output, result.exception)
    return json.loads(result.stdout) if code == 0 else result


@pytest.fixture(autouse=True)
def routes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CONVEYOR_ROUTES", COPY_EVERYTHING)
    trigger_handler.trigger.cache_clear()
    yield
    trigger_handler.trigger.cache_clear()


def archived(stack: Stack, count: int) -> list[str]:
    """Originals that went through once: in the archive, gone from staging."""
    archive = stack.settings["CONVEYOR_ARCHIVE_BUCKET"]
    keys = [f"old/{i} clip.bin" for i in range(count)]
    for i, key in enumerate(keys):
        stack.s3.put_object(Bucket=archive, Key=key, Body=f"original {i}".encode())
    return keys


def staging_versions(stack: Stack) -> list[dict[str, Any]]:
    return stack.s3.list_object_versions(Bucket=stack.staging).get("Versions", [])


def submitted_children(stack: Stack, array: dict[str, Any], keys: list[str]) -> None:
    """Each key's staging copy is SUBMITTED as the child its manifest record names."""
    _, records = manifest.read_all(stack.s3, array["parameters"]["manifest"])
    assert sorted(r["key"] for r in records) == sorted(keys)
    copies = {v["Key"]: v["VersionId"] for v in staging_versions(stack)}
    for index, record in enumerate(records):
        assert record["version_id"] == copies[record["key"]] and record["transform"] == "gzip"
        [entry] = ledger(stack).versions_of(stack.staging, record["key"])
        assert (entry["status"], entry["job_id"]) == ("SUBMITTED", f"{array['jobId']}:{index}")
        assert "claim_token" not in entry


def test_copies_run_as_one_array_and_the_trigger_submits_nothing_more(stack: Stack) -> None:
    keys = archived(stack, 4)
    planned = cli(*BULK, "--dry-run")
    assert {r["reason"] for r in planned} == {"in array job 1 of 1 (4 versions)"}
    assert staging_versions(stack) == []

    rows = cli(*BULK)
    assert {(r["action"], r["reason"]) for r in rows} == {("copied back", "submitted with gzip")}
    [array] = arrays_on_queue(stack)
    assert {r["new_job"].rsplit(":", 1)[0] for r in rows} == {array["jobId"]}
    submitted_children(stack, array, keys)

    # The copies' own notifications reach the trigger: its claims fail, nothing is submitted.
    assert deliver(stack, trigger_handler.handler, stack.receive_all(expected=4)) == []
    assert ordinary_jobs(stack) == [] and len(arrays_on_queue(stack)) == 1

    # The manifest now in the archive is never taken for an original.
    assert manifest.parse_uri(array["parameters"]["manifest"])[1].startswith(".conveyor/")
    everything = cli("reprocess", "--all", "--yes", "--dry-run", "--array-threshold", "2")
    assert sorted(r["key"] for r in everything) == sorted(keys)


def test_died_after_submitting_a_rerun_copies_nothing_and_records(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = archived(stack, 3)
    real = arrays.ArrayJobs.submit

    def submits_then_dies(self: Any, *args: Any, **kwargs: Any) -> Any:
        real(self, *args, **kwargs)
        raise Crash("killed after SubmitJob, before recording")

    with monkeypatch.context() as patch:
        patch.setattr(arrays.ArrayJobs, "submit", submits_then_dies)
        cli(*BULK, code=1)
    copies = staging_versions(stack)
    assert len(copies) == 3
    [array] = arrays_on_queue(stack)

    rows = cli(*BULK)
    assert {r["reason"] for r in rows} == {"copied back by an earlier run, submitted then"}
    assert staging_versions(stack) == copies  # nothing copied again
    assert arrays_on_queue(stack) == [array]  # nothing submitted again
    submitted_children(stack, array, keys)


def test_died_after_claiming_a_rerun_claims_the_waiting_copies(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = archived(stack, 3)

    def dies(*args: Any, **kwargs: Any) -> Any:
        raise Crash("killed before SubmitJob")

    with monkeypatch.context() as patch:
        patch.setattr(arrays.ArrayJobs, "submit", dies)
        cli(*BULK, code=1)
    copies = staging_versions(stack)
    assert arrays_on_queue(stack) == []

    assert {r["action"] for r in cli(*BULK)} == {"refused"}  # the claims are fresh
    for key in keys:  # two minutes later
        [entry] = ledger(stack).versions_of(stack.staging, key)
        stack.dynamodb.update_item(
            TableName=stack.settings["CONVEYOR_LEDGER_TABLE"],
            Key={"pk": {"S": entry["pk"]}, "sk": {"S": entry["sk"]}},
            UpdateExpression="SET claim_expires = :past",
            ExpressionAttributeValues={":past": {"N": "0"}},
        )
    rows = cli(*BULK)
    assert {(r["action"], r["reason"]) for r in rows} == {("copied back", "submitted with gzip")}
    assert staging_versions(stack) == copies
    [array] = arrays_on_queue(stack)
    submitted_children(stack, array, keys)
