"""The worker's streaming transforms against the moto server, run as the container runs them."""

from __future__ import annotations

import gzip
import os

import pytest

from conveyor.jobs import EXIT_BAD_INPUT
from tests.conftest import Stack
from tests.integration.worker import (
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


@pytest.mark.parametrize("key", ["plain.bin", "with space/ünïcödé 日本 (1).bin"])
def test_copy_streams_archives_and_deletes(stack: Stack, key: str) -> None:
    obj = upload(stack, key, os.urandom(300_000), ContentType="application/x-test")
    result = run_worker(stack, obj)
    assert result.returncode == 0, result.stderr
    assert get(stack, OUTPUT, key) == obj.body
    [archived] = archive_versions(stack, key)
    assert get(stack, ARCHIVE, key, VersionId=archived["VersionId"]) == obj.body
    head = stack.s3.head_object(Bucket=stack.settings[ARCHIVE], Key=key)
    assert head["ContentType"] == "application/x-test"
    assert not staging_has(stack, obj)
    assert open_uploads(stack) == []
    assert any(line["message"] == "done" for line in log_lines(result))


def test_progress_lines_a_person_can_follow(stack: Stack) -> None:
    obj = upload(stack, "slow/progress.bin", os.urandom(6 * 1024 * 1024))
    result = run_worker(stack, obj, env={"CONVEYOR_PROGRESS_SECONDS": "0.005"})
    assert result.returncode == 0, result.stderr
    progress = [line["progress"] for line in log_lines(result) if line["message"] == "progress"]
    assert progress, "no progress line"
    last = progress[-1]
    assert {"bytes_read", "bytes_written", "percent", "read_mb_per_s", "total_bytes"} <= set(last)
    assert last["total_bytes"] == 6 * 1024 * 1024
    assert all(0 <= p["percent"] <= 100 for p in progress)
    assert [p["bytes_read"] for p in progress] == sorted(p["bytes_read"] for p in progress)


def test_output_carries_provenance(stack: Stack) -> None:
    obj = upload(stack, "logs/app.txt", b"line\n" * 1000)
    result = run_worker(stack, obj, "gzip", job_id="job-123", sequencer="0055AED6DCD90281E5")
    assert result.returncode == 0, result.stderr
    head = stack.s3.head_object(Bucket=stack.settings[OUTPUT], Key="logs/app.txt.gz")
    meta = head["Metadata"]
    assert meta["conveyor-source-bucket"] == stack.staging
    assert meta["conveyor-source-key"] == "logs/app.txt"
    assert meta["conveyor-source-version-id"] == obj.version_id
    assert meta["conveyor-source-etag"] == obj.etag
    assert meta["conveyor-source-sequencer"] == "0055AED6DCD90281E5"
    assert meta["conveyor-transform"] == "gzip"
    assert meta["conveyor-job-id"] == "job-123"
    assert gzip.decompress(get(stack, OUTPUT, "logs/app.txt.gz")) == obj.body


def test_gzip_multipart_output(stack: Stack) -> None:
    body = os.urandom(7 * 1024 * 1024)  # incompressible: the output needs two 5 MiB parts
    obj = upload(stack, "big/random.bin", body)
    env = {"CONVEYOR_PART_SIZE": str(5 * 1024 * 1024)}
    result = run_worker(stack, obj, "gzip", env=env)
    assert result.returncode == 0, result.stderr
    head = stack.s3.head_object(Bucket=stack.settings[OUTPUT], Key="big/random.bin.gz")
    assert head["ETag"].strip('"').endswith("-2")
    assert gzip.decompress(get(stack, OUTPUT, "big/random.bin.gz")) == body
    assert open_uploads(stack) == []


def test_command_transform_from_the_route(stack: Stack) -> None:
    obj = upload(stack, "shout.txt", b"hello conveyor\n")
    result = run_worker(
        stack, obj, "command", argv=["tr", "a-z", "A-Z"], output_key="{dir}/{stem}.upper{ext}"
    )
    assert result.returncode == 0, result.stderr
    assert get(stack, OUTPUT, "shout.upper.txt") == b"HELLO CONVEYOR\n"


def test_failing_command_is_bad_input_and_keeps_the_original(stack: Stack) -> None:
    obj = upload(stack, "fails.txt", b"x")
    result = run_worker(stack, obj, "command", argv=["sh", "-c", "echo nope >&2; exit 3"])
    assert result.returncode == EXIT_BAD_INPUT
    assert "exited with 3" in result.stderr and "nope" in result.stderr
    assert staging_has(stack, obj)
    assert open_uploads(stack) == []


def test_zero_byte_file_is_bad_input_and_the_reason_is_recorded(stack: Stack) -> None:
    obj = upload(stack, "empty.bin", b"")
    record_running(stack, obj, "job-empty")
    result = run_worker(stack, obj, job_id="job-empty")
    assert result.returncode == EXIT_BAD_INPUT
    assert staging_has(stack, obj)
    [item] = ledger(stack).versions_of(stack.staging, "empty.bin")
    assert item["error"] == "the object is empty (0 bytes): there is nothing to transform"


def test_unknown_transform_is_bad_input(stack: Stack) -> None:
    obj = upload(stack, "a.bin", b"a")
    result = run_worker(stack, obj, "teleport")
    assert result.returncode == EXIT_BAD_INPUT and "unknown transform 'teleport'" in result.stderr
    assert staging_has(stack, obj)
