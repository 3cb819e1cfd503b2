"""Operators putting things right: resubmit, reprocess, sweep, logs; and scoped upload access."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from typer.testing import CliRunner

from completion_lambda import handler as completion_handler
from conveyor_cli.main import app
from tests.conftest import Stack
from tests.integration.helpers import fresh_completion_handler, state_change
from tests.integration.test_trigger import deliver, jobs_by_key
from tests.integration.worker import get, ledger, run_parameters, run_worker, upload
from trigger_lambda import handler as trigger_handler

runner = CliRunner()


def cli(*args: str, code: int = 0) -> Any:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == code, result.output
    return json.loads(result.stdout) if "--json" in args else result.stdout


@pytest.fixture
def routes(monkeypatch: pytest.MonkeyPatch) -> Any:
    def use(rules: list[dict[str, Any]]) -> None:
        monkeypatch.setenv("CONVEYOR_ROUTES", json.dumps(rules))
        trigger_handler.trigger.cache_clear()
        fresh_completion_handler()

    yield use
    trigger_handler.trigger.cache_clear()
    fresh_completion_handler()


def batch_runs(stack: Stack, job: dict[str, Any], env: dict[str, str]) -> int:
    """Do what Batch and EventBridge would: run the job's worker, deliver its final state."""
    result = run_parameters(job["parameters"], env=env, job_id=job["jobId"])
    status = "SUCCEEDED" if result.returncode == 0 else "FAILED"
    completion_handler.handler(
        state_change(job, status, container={"exitCode": result.returncode}), None
    )
    return result.returncode


def test_resubmit_after_fixing_the_route(stack: Stack, routes: Any) -> None:
    broken = [{"match": "*.txt", "transform": "command", "argv": ["sh", "-c", "exit 3"]}]
    routes(broken)
    stack.s3.put_object(Bucket=stack.staging, Key="notes/a.txt", Body=b"shout this\n")
    assert deliver(stack, trigger_handler.handler, stack.receive_all(expected=1)) == []
    [job] = jobs_by_key(stack)["notes/a.txt"]
    assert batch_runs(stack, job, {}) == 65
    [failed] = cli("jobs", "--status", "FAILED", "--json")
    assert "exited with 3" in failed["error"]

    # A plain resubmission repeats the job: the same spec, the same broken command.
    [again] = cli("resubmit", job["jobId"], "--json")
    assert again["action"] == "resubmitted"
    [repeat] = [j for j in jobs_by_key(stack)["notes/a.txt"] if j["jobId"] == again["new_job"]]
    assert repeat["parameters"] == job["parameters"]  # the same parameters
    assert batch_runs(stack, repeat, {}) == 65

    fixed = [{"match": "*.txt", "transform": "command", "argv": ["tr", "a-z", "A-Z"]}]
    routes(fixed)
    [row] = cli("resubmit", repeat["jobId"], "--reroute", "--json")
    assert (row["action"], row["old_job"]) == ("resubmitted", repeat["jobId"])
    [item] = ledger(stack).versions_of(stack.staging, "notes/a.txt")
    assert (item["status"], item["job_id"]) == ("SUBMITTED", row["new_job"])
    assert item["history"][-1]["reason"] == f"resubmission of job {repeat['jobId']}"
    [new_job] = [j for j in jobs_by_key(stack)["notes/a.txt"] if j["jobId"] == row["new_job"]]
    assert json.loads(new_job["parameters"]["argv"]) == ["tr", "a-z", "A-Z"]  # the fixed route

    assert batch_runs(stack, new_job, {}) == 0
    assert get(stack, "CONVEYOR_OUTPUT_BUCKET", "notes/a.txt.out") == b"SHOUT THIS\n"
    assert ledger(stack).versions_of(stack.staging, "notes/a.txt")[0]["status"] == "SUCCEEDED"
    # Now it cannot be resubmitted: it succeeded, and its original left staging.
    [refused] = cli("resubmit", "notes/a.txt", "--json", code=1)
    assert refused["action"] == "refused" and "SUCCEEDED, not FAILED" in refused["reason"]


def test_resubmit_failed_dry_run(stack: Stack, routes: Any) -> None:
    routes([{"match": "*", "transform": "copy"}])
    stack.s3.put_object(Bucket=stack.staging, Key="x.bin", Body=b"x")
    deliver(stack, trigger_handler.handler, stack.receive_all(expected=1))
    [job] = jobs_by_key(stack)["x.bin"]
    completion_handler.handler(state_change(job, "FAILED", container={"exitCode": 75}), None)
    [row] = cli("resubmit", "--failed", "--since", "1h", "--dry-run", "--json")
    assert row["action"] == "would resubmit"
    assert len(jobs_by_key(stack)["x.bin"]) == 1
    assert cli("resubmit", "--failed", "--key-prefix", "other/", "--json") == []


def test_a_second_resubmission_of_one_failed_version_submits_nothing(
    stack: Stack, routes: Any
) -> None:
    from conveyor.errors import InProgress
    from conveyor.submission import resubmit

    routes([{"match": "*", "transform": "copy"}])
    stack.s3.put_object(Bucket=stack.staging, Key="twice.bin", Body=b"x")
    deliver(stack, trigger_handler.handler, stack.receive_all(expected=1))
    [job] = jobs_by_key(stack)["twice.bin"]
    completion_handler.handler(state_change(job, "FAILED", container={"exitCode": 75}), None)
    [entry] = ledger(stack).versions_of(stack.staging, "twice.bin")  # both operators read it
    where = {
        "job_queue": stack.settings["CONVEYOR_JOB_QUEUE"],
        "job_definition": stack.settings["CONVEYOR_JOB_DEFINITION"],
        "reason": "test",
    }
    resubmit(stack.batch, ledger(stack), entry, **where)
    with pytest.raises(InProgress, match="already under way"):
        resubmit(stack.batch, ledger(stack), entry, **where)  # a stale read: no second job
    assert len(jobs_by_key(stack)["twice.bin"]) == 2  # the first job and one resubmission


def test_reprocess_copies_archived_originals_back(stack: Stack, routes: Any) -> None:
    routes([{"match": "*", "transform": "copy"}])
    obj = upload(stack, "old/clip.bin", b"original bytes")
    assert run_worker(stack, obj).returncode == 0
    stack.receive_all()
    assert "Contents" not in stack.s3.list_objects_v2(Bucket=stack.staging)

    [planned] = cli("reprocess", "--key-prefix", "old/", "--dry-run", "--json")
    assert planned["action"] == "would copy back"
    [row] = cli("reprocess", "--key-prefix", "old/", "--transform", "gzip", "--json")
    assert row["reason"] == "submitted with gzip"
    back = stack.s3.get_object(
        Bucket=stack.staging, Key="old/clip.bin", VersionId=row["version_id"]
    )
    assert back["Body"].read() == b"original bytes"
    assert not any(k.startswith("conveyor-source") for k in back["Metadata"])
    [job] = jobs_by_key(stack)["old/clip.bin"]
    assert job["parameters"]["transform"] == "gzip"
    # The copy's own notification then finds the version claimed: no second job.
    assert deliver(stack, trigger_handler.handler, stack.receive_all(expected=1)) == []
    assert len(jobs_by_key(stack)["old/clip.bin"]) == 1


def test_sweep_finds_and_submits_a_stranded_upload(stack: Stack, routes: Any) -> None:
    routes([{"match": "*", "transform": "copy"}])
    stack.s3.put_object(Bucket=stack.staging, Key="lost/in-queue.bin", Body=b"z")
    stack.receive_all()  # the notification was lost: no trigger ever ran
    assert cli("sweep", "--older-than", "1h", "--json") == []
    [row] = cli("sweep", "--older-than", "0s", "--json")
    assert (row["key"], row["reason"]) == ("lost/in-queue.bin", "no job: the trigger never saw it")
    [done] = cli("sweep", "--older-than", "0s", "--resubmit", "--json")
    assert done["action"] == "submitted"
    assert len(jobs_by_key(stack)["lost/in-queue.bin"]) == 1
    assert cli("sweep", "--older-than", "0s", "--json") == []  # in hand now


def test_logs_local_file_and_cloudwatch(
    stack: Stack, routes: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    routes([{"match": "*", "transform": "copy"}])
    stack.s3.put_object(Bucket=stack.staging, Key="logged.bin", Body=b"l")
    deliver(stack, trigger_handler.handler, stack.receive_all(expected=1))
    [job] = jobs_by_key(stack)["logged.bin"]
    log = tmp_path / "job.log"
    log.write_text('{"message": "hello from the worker"}\n')
    completion_handler.handler(
        state_change(job, "RUNNING", container={"logStreamName": str(log)}), None
    )
    assert "hello from the worker" in cli("logs", job["jobId"])

    from conveyor.aws import client

    cloudwatch = client("logs")
    stream, group = "conveyor/Container/abc123", f"/conveyor/{stack.staging}/worker"
    monkeypatch.setenv("CONVEYOR_LOG_GROUP", group)  # what the stack's outputs say
    cloudwatch.create_log_group(logGroupName=group)
    cloudwatch.create_log_stream(logGroupName=group, logStreamName=stream)
    cloudwatch.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": job["createdAt"] + 5, "message": "from cloudwatch"}],
    )
    completion_handler.handler(
        state_change(job, "SUCCEEDED", container={"exitCode": 0, "logStreamName": stream}), None
    )
    assert "from cloudwatch" in cli("logs", job["jobId"])


def test_presigned_put_and_post(stack: Stack) -> None:
    url = cli("presign", "in/cat.mov", "--content-type", "video/quicktime", "--expires", "900")
    query = parse_qs(urlparse(url.strip()).query)
    assert query["X-Amz-Expires"] == ["900"]
    assert "content-type" in query["X-Amz-SignedHeaders"][0].split(";")
    assert urlparse(url).path.endswith("/in/cat.mov")

    post = json.loads(
        cli("presign", "in/cat.mov", "--content-type", "video/quicktime", "--max-size", "1000")
    )
    policy = json.loads(base64.b64decode(post["fields"]["policy"]))
    assert ["content-length-range", 1, 1000] in policy["conditions"]
    assert {"Content-Type": "video/quicktime"} in policy["conditions"]
    assert {"key": "in/cat.mov"} in policy["conditions"]
    assert post["fields"]["Content-Type"] == "video/quicktime"


def test_credentials_for_one_object(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    from conveyor.aws import client

    role = client("iam").create_role(
        RoleName=f"{stack.staging}-upload", AssumeRolePolicyDocument="{}"
    )
    monkeypatch.setenv("CONVEYOR_UPLOAD_ROLE_ARN", role["Role"]["Arn"])
    granted = json.loads(cli("credentials", "in/my*clip?.mov", "--duration", "900"))
    assert {"access_key_id", "secret_access_key", "session_token", "expiration"} <= set(granted)
    assert (granted["bucket"], granted["key"], granted["region"]) == (
        stack.staging,
        "in/my*clip?.mov",
        "us-east-1",
    )
    [statement] = granted["policy"]["Statement"]
    assert statement["Resource"] == f"arn:aws:s3:::{stack.staging}/in/my${{*}}clip${{?}}.mov"
    assert statement["Effect"] == "Allow" and "s3:PutObject" in statement["Action"]
    assert all(
        a.startswith("s3:") and "Get" not in a and "Delete" not in a for a in statement["Action"]
    )
