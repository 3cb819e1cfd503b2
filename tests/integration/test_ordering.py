"""Newest upload wins and names never clash: bursts of uploads to one key within one second, jobs
finishing in the worst order, resubmissions of older versions, and two keys mapped to one name."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from conveyor.events.batch import JobStateChange
from conveyor.jobs import EXIT_BAD_INPUT
from conveyor.status import Status
from conveyor_cli.main import app
from tests.conftest import Stack
from tests.integration.helpers import all_jobs, sqs_event
from tests.integration.worker import (
    Uploaded,
    archive_versions,
    get,
    ledger,
    open_uploads,
    record_running,
    run_parameters,
    run_worker,
    staging_has,
    upload,
)
from trigger_lambda import handler as trigger_handler

OUTPUT, ARCHIVE = "CONVEYOR_OUTPUT_BUCKET", "CONVEYOR_ARCHIVE_BUCKET"


@pytest.fixture
def trigger(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("CONVEYOR_ROUTES", json.dumps([{"match": "*", "transform": "copy"}]))
    trigger_handler.trigger.cache_clear()
    yield trigger_handler.handler
    trigger_handler.trigger.cache_clear()


def burst(stack: Stack, key: str, count: int) -> list[Uploaded]:
    """`count` versions of one key whose LastModified all fall in one second (retried if a
    second boundary fell inside the burst), as fast re-uploads make them."""
    for _ in range(3):
        uploaded = [upload(stack, key, f"version {n}".encode()) for n in range(count)]
        seconds = {
            stack.s3.head_object(Bucket=stack.staging, Key=key, VersionId=u.version_id)[
                "LastModified"
            ]
            for u in uploaded
        }
        if len(seconds) == 1:
            return uploaded
        for u in uploaded:
            stack.s3.delete_object(Bucket=stack.staging, Key=key, VersionId=u.version_id)
    raise AssertionError("could not upload the versions within one second")


def submitted_jobs(stack: Stack, trigger: Any, key: str, count: int) -> dict[str, dict[str, Any]]:
    """Deliver the burst's notifications (moto's carry no version id nor sequencer) to the
    trigger; return the submitted jobs by the version id they were pinned to."""
    messages = stack.receive_all(expected=count)
    queue_arn = stack.sqs.get_queue_attributes(
        QueueUrl=stack.queue_url, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    response = trigger(sqs_event(messages, queue_arn), None)
    assert response["batchItemFailures"] == []
    jobs = [j for j in all_jobs(stack.batch, stack.settings["CONVEYOR_JOB_QUEUE"])]
    return {j["parameters"]["version_id"]: j for j in jobs if j["parameters"]["key"] == key}


def run_job(stack: Stack, job: dict[str, Any]) -> int:
    result = run_parameters(job["parameters"], job_id=job["jobId"])
    assert result.returncode in (0, EXIT_BAD_INPUT), result.stderr
    return result.returncode


def status_of(stack: Stack, key: str) -> dict[str, str]:
    return {i["version_id"]: i["status"] for i in ledger(stack).versions_of(stack.staging, key)}


def test_five_uploads_in_one_second_newest_finishes_first(stack: Stack, trigger: Any) -> None:
    versions = burst(stack, "burst.txt", 5)
    jobs = submitted_jobs(stack, trigger, "burst.txt", 5)
    # Each notification was pinned to its own version, though none named one.
    assert sorted(jobs) == sorted(v.version_id for v in versions)

    newest, older = versions[-1], versions[:-1]
    assert run_job(stack, jobs[newest.version_id]) == 0
    for version in reversed(older):  # each older job finds the newer output: worst order
        assert run_job(stack, jobs[version.version_id]) == 0

    assert get(stack, OUTPUT, "burst.txt") == b"version 4"
    statuses = status_of(stack, "burst.txt")
    assert statuses[newest.version_id] == "SUBMITTED"  # Batch's SUCCEEDED comes from EventBridge
    assert all(statuses[v.version_id] == Status.SUPERSEDED for v in older)
    archived = {
        get(stack, ARCHIVE, "burst.txt", VersionId=v["VersionId"])
        for v in archive_versions(stack, "burst.txt")
    }
    assert archived == {v.body for v in versions}
    assert not any(staging_has(stack, v) for v in versions)
    assert open_uploads(stack) == []


def test_resubmitting_a_failed_older_version_never_replaces_the_newer_output(
    stack: Stack, trigger: Any
) -> None:
    versions = burst(stack, "again.txt", 3)
    jobs = submitted_jobs(stack, trigger, "again.txt", 3)
    oldest, newest = versions[0], versions[-1]
    # The oldest version's job failed (say its instance vanished) while it waited in staging.
    failed = jobs[oldest.version_id]
    ledger(stack).apply(
        JobStateChange(
            job_id=failed["jobId"],
            status=Status.FAILED,
            parameters=failed["parameters"],
            created_at=failed["createdAt"],
            status_reason="Host EC2 (instance i-0) terminated.",
        )
    )
    assert run_job(stack, jobs[newest.version_id]) == 0
    assert run_job(stack, jobs[versions[1].version_id]) == 0

    result = CliRunner().invoke(app, ["resubmit", "--failed", "--since", "1h", "--json"])
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)
    assert (row["version_id"], row["action"]) == (oldest.version_id, "resubmitted")
    [resubmitted] = [
        j
        for j in all_jobs(stack.batch, stack.settings["CONVEYOR_JOB_QUEUE"])
        if j["jobId"] == row["new_job"]
    ]
    assert run_job(stack, resubmitted) == 0

    assert get(stack, OUTPUT, "again.txt") == newest.body
    assert status_of(stack, "again.txt")[oldest.version_id] == Status.SUPERSEDED
    assert not staging_has(stack, oldest)
    assert oldest.body in {
        get(stack, ARCHIVE, "again.txt", VersionId=v["VersionId"])
        for v in archive_versions(stack, "again.txt")
    }


def test_two_keys_one_output_name_is_bad_input_naming_both(stack: Stack) -> None:
    template = "{dir}/{stem}.out"  # a route's template that forgets the extension
    mov = upload(stack, "videos/clip.mov", b"the mov")
    mp4 = upload(stack, "videos/clip.mp4", b"the mp4")
    assert run_worker(stack, mov, output_key=template).returncode == 0
    record_running(stack, mp4, "job-mp4")
    clash = run_worker(stack, mp4, output_key=template, job_id="job-mp4")

    assert clash.returncode == EXIT_BAD_INPUT
    assert "videos/clip.mov" in clash.stderr and "videos/clip.mp4" in clash.stderr
    assert get(stack, OUTPUT, "videos/clip.out") == b"the mov"
    assert staging_has(stack, mp4)  # the original stays, for a fixed route and a resubmission
    [item] = ledger(stack).versions_of(stack.staging, "videos/clip.mp4")
    assert item["outcome"] == "bad input"
    assert "videos/clip.mov" in item["error"] and "same output name" in item["error"]
    assert open_uploads(stack) == []


@pytest.mark.parametrize(
    ("first", "second"),
    [("a//b.txt", "a/b.txt"), ("/abs/x.txt", "abs/x.txt")],
)
def test_default_output_names_keep_every_key_apart(stack: Stack, first: str, second: str) -> None:
    one = upload(stack, first, b"first")
    two = upload(stack, second, b"second")
    assert run_worker(stack, one, "gzip").returncode == 0
    assert run_worker(stack, two, "gzip").returncode == 0
    listed = stack.s3.list_objects_v2(Bucket=stack.settings[OUTPUT])["Contents"]
    assert sorted(o["Key"] for o in listed) == sorted([f"{first}.gz", f"{second}.gz"])


def test_reprocess_brings_back_the_newest_upload_not_the_last_archived(
    stack: Stack, trigger: Any
) -> None:
    versions = burst(stack, "again/clip.txt", 3)
    jobs = submitted_jobs(stack, trigger, "again/clip.txt", 3)
    for version in reversed(versions):  # newest first: the oldest is the last one archived
        assert run_job(stack, jobs[version.version_id]) == 0
    archived_last = archive_versions(stack, "again/clip.txt")[0]
    assert get(stack, ARCHIVE, "again/clip.txt", VersionId=archived_last["VersionId"]) == (
        versions[0].body
    )

    result = CliRunner().invoke(app, ["reprocess", "--key-prefix", "again/", "--json"])
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)
    assert row["action"] == "copied back"
    staged = stack.s3.get_object(Bucket=stack.staging, Key="again/clip.txt")
    assert staged["VersionId"] == row["version_id"]
    assert staged["Body"].read() == versions[-1].body  # the newest upload, not the oldest
