"""Re-runs, races between versions, and SIGKILL at every step: the worker always converges."""

from __future__ import annotations

import dataclasses
import os
import signal
import time

import pytest
from typer.testing import CliRunner

from batch_job.steps import Step
from conveyor.jobs import EXIT_BAD_INPUT
from conveyor_cli.main import app
from tests.conftest import Stack
from tests.integration.worker import (
    Uploaded,
    archive_versions,
    get,
    ledger,
    log_lines,
    open_uploads,
    record_running,
    run_worker,
    staging_has,
    upload,
)

OUTPUT, ARCHIVE = "CONVEYOR_OUTPUT_BUCKET", "CONVEYOR_ARCHIVE_BUCKET"
SMALL_PARTS = {"CONVEYOR_PART_SIZE": str(5 * 1024 * 1024)}


def output_head(stack: Stack, key: str) -> dict:
    return stack.s3.head_object(Bucket=stack.settings[OUTPUT], Key=key)


def test_same_job_twice_does_the_work_once(stack: Stack) -> None:
    obj = upload(stack, "twice.bin", os.urandom(100_000))
    assert run_worker(stack, obj).returncode == 0
    first = output_head(stack, "twice.bin")
    again = run_worker(stack, obj)
    assert again.returncode == 0, again.stderr
    assert any("already archived" in line["message"] for line in log_lines(again))
    second = output_head(stack, "twice.bin")
    assert (first["ETag"], first["LastModified"]) == (second["ETag"], second["LastModified"])
    assert len(archive_versions(stack, "twice.bin")) == 1


def test_gone_and_not_archived_is_bad_input(stack: Stack) -> None:
    obj = upload(stack, "lost.bin", b"lost")
    stack.s3.delete_object(Bucket=stack.staging, Key=obj.key, VersionId=obj.version_id)
    result = run_worker(stack, obj)
    assert result.returncode == EXIT_BAD_INPUT
    assert "gone from staging and is not in the archive" in result.stderr


def test_newer_finishes_first_then_older_is_superseded(stack: Stack) -> None:
    old = upload(stack, "race.txt", b"old")
    time.sleep(1.1)  # S3's LastModified has one-second resolution
    new = upload(stack, "race.txt", b"new")
    record_running(stack, old, "job-old")
    assert run_worker(stack, new).returncode == 0
    result = run_worker(stack, old, job_id="job-old")
    assert result.returncode == 0, result.stderr
    assert get(stack, OUTPUT, "race.txt") == b"new"
    bodies = {
        get(stack, ARCHIVE, "race.txt", VersionId=v["VersionId"])
        for v in archive_versions(stack, "race.txt")
    }
    assert bodies == {b"old", b"new"}  # the superseded original is archived all the same
    assert not staging_has(stack, old) and not staging_has(stack, new)
    [item] = [
        i for i in ledger(stack).versions_of(stack.staging, "race.txt") if i["job_id"] == "job-old"
    ]
    assert item["status"] == "SUPERSEDED" and item["outcome"] == "superseded"


def test_older_waits_while_a_newer_upload_is_in_staging(stack: Stack) -> None:
    old = upload(stack, "queue.txt", b"old")
    new = upload(stack, "queue.txt", b"new")
    assert run_worker(stack, old).returncode == 0
    assert not stack.s3.list_objects_v2(Bucket=stack.settings[OUTPUT]).get("Contents")
    assert run_worker(stack, new).returncode == 0
    assert get(stack, OUTPUT, "queue.txt") == b"new"


def test_older_finishes_first_then_newer_replaces_it(stack: Stack) -> None:
    old = upload(stack, "order.txt", b"old")
    assert run_worker(stack, old).returncode == 0
    assert get(stack, OUTPUT, "order.txt") == b"old"
    time.sleep(1.1)
    new = upload(stack, "order.txt", b"new")
    assert run_worker(stack, new).returncode == 0
    assert get(stack, OUTPUT, "order.txt") == b"new"
    # A late duplicate of the old job changes nothing.
    assert run_worker(stack, old).returncode == 0
    assert get(stack, OUTPUT, "order.txt") == b"new"


def test_sequencers_order_versions_uploaded_in_the_same_second(stack: Stack) -> None:
    old = upload(stack, "seq.txt", b"old")
    new = upload(stack, "seq.txt", b"new")
    assert run_worker(stack, new, sequencer="0055AED6DCD90281E6").returncode == 0
    assert run_worker(stack, old, sequencer="0055AED6DCD90281E5").returncode == 0
    assert get(stack, OUTPUT, "seq.txt") == b"new"


CRASH_POINTS = [Step.OUTPUT_STARTED, Step.OUTPUT_WRITTEN, Step.ARCHIVED, Step.DELETED]
"""After the output upload started, after it was committed, after the archive copy was verified,
after the original was deleted from staging."""


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_sigkill_at_every_step_then_run_again(stack: Stack, point: Step) -> None:
    body = os.urandom(11 * 1024 * 1024)  # three 5 MiB parts: a real multipart output
    obj = upload(stack, f"crash/{point}.bin", body)
    crashed = run_worker(stack, obj, "copy", env=SMALL_PARTS, crash_after=point)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    # Nothing lost at the instant of the crash: the original is in staging or in the archive.
    archived = [
        get(stack, ARCHIVE, obj.key, VersionId=v["VersionId"])
        for v in archive_versions(stack, obj.key)
    ]
    assert staging_has(stack, obj) or body in archived
    if staging_has(stack, obj):
        assert get(stack, "CONVEYOR_STAGING_BUCKET", obj.key, VersionId=obj.version_id) == body

    again = run_worker(stack, obj, "copy", env=SMALL_PARTS)
    assert again.returncode == 0, again.stderr
    assert get(stack, OUTPUT, obj.key) == body
    [archive_copy] = archive_versions(stack, obj.key)
    assert get(stack, ARCHIVE, obj.key, VersionId=archive_copy["VersionId"]) == body
    assert not staging_has(stack, obj)
    assert open_uploads(stack) == []


def test_large_original_is_archived_with_upload_part_copy(stack: Stack) -> None:
    body = os.urandom(12 * 1024 * 1024)
    obj = upload(stack, "huge/master.mov.bin", body)
    env = {"CONVEYOR_SINGLE_COPY_LIMIT": str(5 * 1024 * 1024)}  # stands in for CopyObject's 5 GB
    result = run_worker(stack, obj, env=env)
    assert result.returncode == 0, result.stderr
    [archived] = archive_versions(stack, obj.key)
    assert archived["ETag"].strip('"').endswith("-3")  # made by UploadPartCopy, in 3 parts
    assert get(stack, ARCHIVE, obj.key) == body
    assert any("verified by reading both" in line["message"] for line in log_lines(result))


def test_unversioned_staging_pins_by_etag(stack: Stack) -> None:
    bucket = stack.staging.replace("-staging", "-plain")
    stack.s3.create_bucket(Bucket=bucket)
    response = stack.s3.put_object(Bucket=bucket, Key="plain.txt", Body=b"plain")
    obj = Uploaded("plain.txt", "", response["ETag"].strip('"'), b"plain")
    plain = dataclasses.replace(
        stack, settings={**stack.settings, "CONVEYOR_STAGING_BUCKET": bucket}
    )
    result = run_worker(plain, obj)
    assert result.returncode == 0, result.stderr
    assert get(stack, OUTPUT, "plain.txt") == b"plain"
    assert not stack.s3.list_objects_v2(Bucket=bucket).get("Contents")
    # The same key re-uploaded with other bytes is another version: the old job finds it gone.
    stack.s3.put_object(Bucket=bucket, Key="plain.txt", Body=b"changed")
    assert run_worker(plain, obj).returncode == 0  # archived already: done, nothing redone
    assert stack.s3.get_object(Bucket=bucket, Key="plain.txt")["Body"].read() == b"changed"


def test_ledger_gets_output_archive_and_metrics(stack: Stack) -> None:
    obj = upload(stack, "facts.bin", os.urandom(50_000))
    record_running(stack, obj, "job-facts")
    assert run_worker(stack, obj, job_id="job-facts").returncode == 0
    [item] = ledger(stack).versions_of(stack.staging, "facts.bin")
    assert item["outcome"] == "written"
    assert item["output"] == {"bucket": stack.settings[OUTPUT], "key": "facts.bin"}
    assert item["archive"]["bucket"] == stack.settings[ARCHIVE]
    assert item["archive"]["version_id"] == archive_versions(stack, "facts.bin")[0]["VersionId"]
    assert item["metrics"]["input_bytes"] == 50_000 == item["metrics"]["output_bytes"]
    assert item["metrics"]["seconds"] > 0
    shown = CliRunner().invoke(app, ["show", "facts.bin"], env={"COLUMNS": "250"})
    assert shown.exit_code == 0, shown.output
    assert f"s3://{stack.settings[OUTPUT]}/facts.bin" in shown.stdout and "written" in shown.stdout
