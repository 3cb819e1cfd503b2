"""`conveyor upload` resumes a large file's upload a stopped run left open, verifying each part."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conveyor_cli.main import app
from conveyor_cli.uploads import send
from conveyor_cli.uploads.digest import digest_file
from tests.conftest import Stack

MiB = 1024 * 1024
runner = CliRunner()


def upload(*args: str, code: int = 0) -> list[dict]:
    result = runner.invoke(app, ["upload", *args, "--json", "--part-size", "5"])
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


def open_uploads(stack: Stack) -> list[dict]:
    return stack.s3.list_multipart_uploads(Bucket=stack.staging).get("Uploads", [])


def assert_stored(stack: Stack, path: Path, key: str) -> None:
    body = stack.s3.get_object(Bucket=stack.staging, Key=key)["Body"].read()
    assert body == path.read_bytes()
    head = stack.s3.head_object(Bucket=stack.staging, Key=key, ChecksumMode="ENABLED")
    local = digest_file(str(path), path.stat().st_size, 5 * MiB)
    assert (head["ETag"].strip('"'), head["ChecksumCRC64NVME"]) == (local.etag, local.crc64nvme)
    assert open_uploads(stack) == []


@pytest.fixture
def big(tmp_path: Path) -> Path:
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(17 * MiB))  # four parts of 5 MiB
    return path


def killed_at(part: int, path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            *(sys.executable, "-m", "tests.integration.killed_upload", str(part), "upload"),
            *(str(path), "--json", "--part-size", "5", "--jobs", "1", *args),
        ],
        capture_output=True,
        timeout=120,
        env=dict(os.environ),
    )


def test_a_killed_upload_is_resumed_where_it_stopped(stack: Stack, big: Path) -> None:
    done = killed_at(3, big)
    assert done.returncode == -9
    [open_upload] = open_uploads(stack)
    parts = stack.s3.list_parts(
        Bucket=stack.staging, Key="big.bin", UploadId=open_upload["UploadId"]
    )["Parts"]
    assert [p["PartNumber"] for p in parts] == [1, 2]
    [resumed] = upload(str(big))
    assert (resumed["action"], resumed["resumed_parts"]) == ("uploaded", 2)
    assert_stored(stack, big, "big.bin")


def test_parts_that_no_longer_match_the_file_are_sent_again(stack: Stack, big: Path) -> None:
    assert killed_at(4, big).returncode == -9  # parts 1-3 are up
    with big.open("r+b") as f:  # the file changes in its first part between the runs
        f.write(b"changed")
    [resumed] = upload(str(big))
    assert (resumed["action"], resumed["resumed_parts"]) == ("uploaded", 2)
    assert_stored(stack, big, "big.bin")


def test_no_resume_starts_over_and_aborts_what_was_left_open(stack: Stack, big: Path) -> None:
    assert killed_at(3, big).returncode == -9
    [fresh] = upload(str(big), "--no-resume")
    assert (fresh["action"], fresh["resumed_parts"]) == ("uploaded", 0)
    assert_stored(stack, big, "big.bin")


def test_a_failed_part_fails_only_its_file_and_leaves_the_upload_to_resume(
    stack: Stack, big: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = tmp_path / "small.txt"
    small.write_bytes(b"small")
    real = send._part

    def flaky(*args: object) -> str:
        if args[4] == 2:
            raise ConnectionError("connection reset by peer")
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(send, "_part", flaky)
    results = {r["key"]: r for r in upload(str(big), str(small), "--jobs", "1", code=1)}
    assert results["small.txt"]["action"] == "uploaded"
    assert results["big.bin"]["action"] == "failed"
    assert "connection reset" in results["big.bin"]["reason"]
    assert "Contents" not in stack.s3.list_objects_v2(Bucket=stack.staging, Prefix="big")
    monkeypatch.setattr(send, "_part", real)
    [resumed] = upload(str(big))
    assert resumed["action"] == "uploaded" and resumed["resumed_parts"] >= 1
    assert_stored(stack, big, "big.bin")


def test_a_file_changed_while_it_is_sent_is_refused(
    stack: Stack, big: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = send._part

    def writer(*args: object) -> str:
        if args[4] == 4:
            with big.open("ab") as f:  # the file is still being written
                f.write(b"more")
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(send, "_part", writer)
    [refused] = upload(str(big), "--jobs", "1", code=1)
    assert (
        refused["action"] == "failed" and "while it was read" in refused["reason"]
    )  # grew or changed
    assert "Contents" not in stack.s3.list_objects_v2(Bucket=stack.staging)


def test_a_bucket_without_versioning_takes_multipart_uploads_too(
    stack: Stack, big: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = stack.staging + "-plain"  # S3 says no version; moto says "null"
    stack.s3.create_bucket(Bucket=plain)
    monkeypatch.setenv("CONVEYOR_STAGING_BUCKET", plain)
    [sent] = upload(str(big))
    assert sent["action"] == "uploaded", sent
    head = stack.s3.head_object(Bucket=plain, Key="big.bin", ChecksumMode="ENABLED")
    assert head["ChecksumCRC64NVME"] == digest_file(str(big), big.stat().st_size, 5 * MiB).crc64nvme
