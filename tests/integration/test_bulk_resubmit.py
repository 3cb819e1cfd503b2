"""`conveyor resubmit` above its threshold: one array job over a manifest instead of one job per
version; a child runs and is recorded as its version's job; a re-run after a crash at any step
submits nothing twice."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner

from completion_lambda import handler as completion_handler
from conveyor import manifest
from conveyor.bulk import arrays
from conveyor.clock import iso, millis, utcnow
from conveyor.errors import SubmitFailed
from conveyor.events.batch import JobStateChange
from conveyor.jobs import JobSpec
from conveyor.ledger.store import Ledger
from conveyor.objects import ObjectVersion
from conveyor.status import Status
from conveyor_cli.main import app
from conveyor_local.faults import fault_proxy
from tests.conftest import Stack
from tests.integration.helpers import all_jobs, fresh_completion_handler, state_change
from tests.integration.worker import get, ledger, run_parameters, upload

runner = CliRunner()
BULK = ("resubmit", "--failed", "--all", "--yes", "--array-threshold", "2", "--json")


class Crash(Exception):
    """The process dies here (the test's stand-in for kill -9)."""


def cli(*args: str, code: int = 0) -> Any:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == code, (result.output, result.exception)
    return json.loads(result.stdout) if code == 0 and "--json" in args else result


@pytest.fixture(autouse=True)
def fresh_handlers() -> Iterator[None]:
    fresh_completion_handler()
    yield
    fresh_completion_handler()


def seed_failed(stack: Stack, count: int, prefix: str = "bulk/") -> list[dict[str, Any]]:
    """`count` versions in staging whose jobs FAILED, as the ledger records them."""
    book = ledger(stack)
    seeded = []
    for i in range(count):
        obj = upload(stack, f'{prefix}{i:03d} ü "q".txt', f"body {i}\n".encode())
        version = ObjectVersion(stack.staging, obj.key, obj.etag, len(obj.body), obj.version_id)
        spec = JobSpec(version, "copy")
        job_id = str(uuid.uuid4())
        book.apply(
            JobStateChange(
                job_id=job_id,
                status=Status.FAILED,
                parameters=spec.parameters(),
                job_name=spec.name,
                job_queue=stack.settings["CONVEYOR_JOB_QUEUE"],
                job_definition=stack.settings["CONVEYOR_JOB_DEFINITION"],
                created_at=millis(utcnow()),
                status_reason="Essential container in task exited",
                exit_code=75,
            )
        )
        seeded.append({"key": obj.key, "version_id": obj.version_id, "job_id": job_id})
    return seeded


def age_claims(stack: Stack, minutes: int) -> None:
    """What `minutes` passing does to the claims: they look that much older."""
    then = iso(utcnow() - timedelta(minutes=minutes))
    for entry in entries(stack).values():
        if "retry_started_at" in entry:
            stack.dynamodb.update_item(
                TableName=stack.settings["CONVEYOR_LEDGER_TABLE"],
                Key={"pk": {"S": entry["pk"]}, "sk": {"S": entry["sk"]}},
                UpdateExpression="SET retry_started_at = :then",
                ExpressionAttributeValues={":then": {"S": then}},
            )


def arrays_on_queue(stack: Stack) -> list[dict[str, Any]]:
    """The array jobs (parents) on the stack's queue."""
    jobs = all_jobs(stack.batch, stack.settings["CONVEYOR_JOB_QUEUE"])
    return [j for j in jobs if ":" not in j["jobId"] and j["jobName"].startswith("conveyor-bulk-")]


def ordinary_jobs(stack: Stack) -> list[dict[str, Any]]:
    jobs = all_jobs(stack.batch, stack.settings["CONVEYOR_JOB_QUEUE"])
    return [j for j in jobs if not j["jobName"].startswith("conveyor-bulk-")]


def entries(stack: Stack, prefix: str = "bulk/") -> dict[str, Any]:
    book = ledger(stack)
    return {e.key: e for e in book.under_prefix(stack.staging, prefix)}


def children_recorded(stack: Stack, array: dict[str, Any], seeded: list[dict[str, Any]]) -> None:
    """Every seeded version is SUBMITTED as exactly one child of `array`, the one whose
    manifest record names it."""
    uri = array["parameters"]["manifest"]
    header, records = manifest.read_all(stack.s3, uri)
    assert header.count == len(seeded) == array["arrayProperties"]["size"]
    found = {k: e for k, e in entries(stack).items() if k in {s["key"] for s in seeded}}
    seen = set()
    for index, record in enumerate(records):
        entry = found[record["key"]]
        assert (entry["status"], entry["job_id"]) == ("SUBMITTED", f"{array['jobId']}:{index}")
        assert entry["job_name"] == array["jobName"]
        assert record["version_id"] == entry.version_id and record["manifest"] == ""
        seen.add(record["key"])
    assert seen == {s["key"] for s in seeded}
    assert all("claim_token" not in e and "retry_started_at" not in e for e in found.values())


def test_above_the_threshold_one_array_job_runs_every_version(stack: Stack) -> None:
    seeded = seed_failed(stack, 5)
    gone = seed_failed(stack, 1, prefix="bulk/gone-")[0]
    stack.s3.delete_object(Bucket=stack.staging, Key=gone["key"], VersionId=gone["version_id"])

    [planned] = {r["reason"] for r in cli(*BULK, "--dry-run") if r["action"] != "refused"}
    assert planned == "in array job 1 of 1 (5 versions)"
    assert arrays_on_queue(stack) == []

    rows = cli(*BULK)
    [array] = arrays_on_queue(stack)
    assert ordinary_jobs(stack) == []  # one SubmitJob in all
    by_key = {r["key"]: r for r in rows}
    assert by_key[gone["key"]]["action"] == "refused"
    assert "no longer in staging" in by_key[gone["key"]]["reason"]
    for seed in seeded:
        row = by_key[seed["key"]]
        assert (row["action"], row["old_job"]) == ("resubmitted", seed["job_id"])
        assert row["new_job"].startswith(f"{array['jobId']}:")
    assert set(array["parameters"]) >= {"manifest", "bucket", "key"}
    assert array["parameters"]["bucket"] == "" and array["parameters"]["key"] == ""
    children_recorded(stack, array, seeded)
    entry = entries(stack)[seeded[0]["key"]]
    assert entry["history"][-1]["reason"] == f"resubmission of job {seeded[0]['job_id']}"

    # One child runs as Batch runs it: the array's parameters, its own index and id.
    index = int(entry["job_id"].rsplit(":", 1)[1])
    child_id = entry["job_id"]
    result = run_parameters(
        array["parameters"], env={"AWS_BATCH_JOB_ARRAY_INDEX": str(index)}, job_id=child_id
    )
    assert result.returncode == 0, result.stderr
    assert get(stack, "CONVEYOR_OUTPUT_BUCKET", seeded[0]["key"]) == b"body 0\n"
    child_event = state_change(
        {**array, "jobId": child_id},
        "SUCCEEDED",
        arrayProperties={"index": index},
        container={"exitCode": 0},
    )
    answer = completion_handler.handler(child_event, None)
    assert answer == {"job_id": child_id, "result": "applied"}
    done = entries(stack)[seeded[0]["key"]]
    assert (done["status"], done["job_id"]) == ("SUCCEEDED", child_id)
    parent_event = state_change(
        array, "SUCCEEDED", arrayProperties={"size": 5, "statusSummary": {"SUCCEEDED": 5}}
    )
    assert completion_handler.handler(parent_event, None)["result"] == "array parent"

    # Again: only the version gone from staging is FAILED still, and refused again.
    assert [(r["key"], r["action"]) for r in cli(*BULK)] == [(gone["key"], "refused")]
    assert len(arrays_on_queue(stack)) == 1


def test_a_child_with_a_bad_index_or_manifest_is_bad_input(stack: Stack) -> None:
    seeded = seed_failed(stack, 3)
    cli(*BULK)
    [array] = arrays_on_queue(stack)
    parameters = array["parameters"]
    out_of_range = run_parameters(parameters, env={"AWS_BATCH_JOB_ARRAY_INDEX": "3"})
    assert out_of_range.returncode == 65
    assert "out of range" in out_of_range.stderr
    no_index = run_parameters(parameters, env={"AWS_BATCH_JOB_ARRAY_INDEX": ""})
    assert no_index.returncode == 65 and "AWS_BATCH_JOB_ARRAY_INDEX" in no_index.stderr
    elsewhere = {**parameters, "manifest": parameters["manifest"].replace(".jsonl", "-x.jsonl")}
    missing = run_parameters(elsewhere, env={"AWS_BATCH_JOB_ARRAY_INDEX": "0"})
    assert missing.returncode == 75, missing.stderr
    assert len(seeded) == 3


def test_a_version_resubmitted_meanwhile_is_refused_and_the_rest_close_up(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = seed_failed(stack, 5)
    book = ledger(stack)
    taken = entries(stack)[seeded[1]["key"]]
    assert book.begin_retry(taken, seeded[1]["job_id"], 120)  # another operator, just now
    rows = {r["key"]: r for r in cli(*BULK)}
    assert rows[seeded[1]["key"]]["action"] == "refused"
    assert "already under way" in rows[seeded[1]["key"]]["reason"]
    [array] = arrays_on_queue(stack)
    children_recorded(stack, array, [s for s in seeded if s is not seeded[1]])


def test_died_after_claiming_before_submitting(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = seed_failed(stack, 4)

    def dies(*args: Any, **kwargs: Any) -> Any:
        raise Crash("killed before SubmitJob")

    with monkeypatch.context() as patch:
        patch.setattr(arrays.ArrayJobs, "submit", dies)
        cli(*BULK, code=1)
    assert arrays_on_queue(stack) == []
    # At once: the claims are fresh, so nothing is submitted (it may be another run's).
    rows = cli(*BULK)
    assert {r["action"] for r in rows} == {"refused"}
    assert arrays_on_queue(stack) == []
    # Once they are stale (the claims aged here), they are claimed again and submitted, once.
    age_claims(stack, minutes=5)
    rows = cli(*BULK)
    assert {r["action"] for r in rows} == {"resubmitted"}
    [array] = arrays_on_queue(stack)
    children_recorded(stack, array, seeded)


def test_died_after_submitting_before_recording(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = seed_failed(stack, 4)
    real = arrays.ArrayJobs.submit

    def submits_then_dies(self: Any, *args: Any, **kwargs: Any) -> Any:
        real(self, *args, **kwargs)
        raise Crash("killed after SubmitJob, before recording")

    with monkeypatch.context() as patch:
        patch.setattr(arrays.ArrayJobs, "submit", submits_then_dies)
        cli(*BULK, code=1)
    [array] = arrays_on_queue(stack)
    assert {e["status"] for e in entries(stack).values()} == {"FAILED"}

    rows = cli(*BULK)
    assert {r["action"] for r in rows} == {"resubmitted"}
    assert {r["reason"] for r in rows} == {"submitted by an earlier run, recorded now"}
    assert arrays_on_queue(stack) == [array]  # nothing submitted again
    children_recorded(stack, array, seeded)


def test_died_while_recording(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    seeded = seed_failed(stack, 5)
    monkeypatch.setattr(arrays, "TRANSACTION_LIMIT", 2)
    real = Ledger.apply_claimed_many
    calls = []

    def dies_on_the_second_chunk(self: Ledger, changes: Any) -> list[bool]:
        calls.append(len(changes))
        if len(calls) == 2:
            raise Crash("killed while recording")
        return real(self, changes)

    with monkeypatch.context() as patch:
        patch.setattr(Ledger, "apply_claimed_many", dies_on_the_second_chunk)
        cli(*BULK, code=1)
    statuses = sorted(e["status"] for e in entries(stack).values())
    assert statuses == ["FAILED", "FAILED", "FAILED", "SUBMITTED", "SUBMITTED"]

    rows = cli(*BULK)
    assert len(rows) == 3 and {r["action"] for r in rows} == {"resubmitted"}
    [array] = arrays_on_queue(stack)
    children_recorded(stack, array, seeded)


def test_at_or_below_the_threshold_one_job_each(stack: Stack) -> None:
    seed_failed(stack, 2)
    rows = cli("resubmit", "--failed", "--all", "--yes", "--json")
    assert {r["action"] for r in rows} == {"resubmitted"}
    assert arrays_on_queue(stack) == []
    assert len(ordinary_jobs(stack)) == 2


def test_a_submit_whose_answer_was_lost_makes_one_array(
    stack: Stack, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = seed_failed(stack, 3)
    with fault_proxy(moto_endpoint) as proxy, monkeypatch.context() as patch:
        lost = proxy.lose_response("SubmitJob", lambda r: r.operation == "SubmitJob")
        patch.setenv("AWS_ENDPOINT_URL", proxy.url)
        rows = cli(*BULK)
    assert lost.fired == 1
    assert {r["action"] for r in rows} == {"resubmitted"}
    [array] = arrays_on_queue(stack)  # applied once, found by its name: no second array
    children_recorded(stack, array, seeded)


def test_a_manifest_that_cannot_be_written_gives_the_claims_back(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An operator role without s3:PutObject on the manifests' prefix: one clear line, nothing
    submitted, and the versions claimable again at once, not after the claims go stale."""
    seed_failed(stack, 3)

    def refused(*args: Any, **kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": "AccessDenied"}}, "PutObject")

    with monkeypatch.context() as patch:
        patch.setattr(manifest, "write", refused)
        result = cli(*BULK, code=1)
    assert isinstance(result.exception, SubmitFailed)  # the CLI's one line, exit 1
    assert "manifest" in str(result.exception) and "AccessDenied" in str(result.exception)
    assert arrays_on_queue(stack) == []
    assert all("claim_token" not in item for item in entries(stack).values())
    rows = cli(*BULK)  # at once: nothing waits for a stale claim
    assert {r["action"] for r in rows} == {"resubmitted"}
    assert len(arrays_on_queue(stack)) == 1
