"""`conveyor upload`: only different content is sent, judged by checksum."""

from __future__ import annotations

import json
import os
from pathlib import Path

from typer.testing import CliRunner

from conveyor_cli.main import app
from conveyor_cli.uploads.digest import digests
from tests.conftest import Stack
from tests.integration.worker import Uploaded, run_worker

runner = CliRunner()


def upload(*args: str) -> list[dict]:
    result = runner.invoke(app, ["upload", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_second_upload_is_skipped(stack: Stack, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"alpha" * 1000)
    [first] = upload(str(tmp_path / "a.txt"), "--key-prefix", "in/")
    assert (first["key"], first["action"], first["reason"]) == ("in/a.txt", "uploaded", "new")
    [second] = upload(str(tmp_path / "a.txt"), "--key-prefix", "in/")
    assert second["action"] == "skipped"
    assert second["reason"] == "same content already in staging"
    [forced] = upload(str(tmp_path / "a.txt"), "--key-prefix", "in/", "--force")
    assert forced["action"] == "uploaded"


def test_changed_bytes_with_same_size_and_mtime_are_uploaded(stack: Stack, tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"A" * 4096)
    stat = path.stat()
    upload(str(path))
    path.write_bytes(b"B" * 4096)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size and path.stat().st_mtime_ns == stat.st_mtime_ns
    [again] = upload(str(path))
    assert (again["action"], again["reason"]) == ("uploaded", "content differs")
    body = stack.s3.get_object(Bucket=stack.staging, Key="data.bin")["Body"].read()
    assert body == b"B" * 4096


def test_processed_and_archived_file_is_skipped(stack: Stack, tmp_path: Path) -> None:
    path = tmp_path / "done.bin"
    path.write_bytes(os.urandom(20_000))
    upload(str(path))
    head = stack.s3.head_object(Bucket=stack.staging, Key="done.bin")
    obj = Uploaded("done.bin", head["VersionId"], head["ETag"].strip('"'), b"")
    assert run_worker(stack, obj).returncode == 0  # archived, then deleted from staging
    [again] = upload(str(path))
    assert (again["action"], again["reason"]) == ("skipped", "same content already in archive")


def test_folders_dry_run_and_multipart(stack: Stack, tmp_path: Path) -> None:
    (tmp_path / "clips" / "day1").mkdir(parents=True)
    (tmp_path / "clips" / "day1" / "x.bin").write_bytes(os.urandom(17 * 1024 * 1024))
    (tmp_path / "clips" / "y.txt").write_bytes(b"y")
    planned = upload(str(tmp_path / "clips"), "--dry-run")
    assert {(r["key"], r["action"]) for r in planned} == {
        ("day1/x.bin", "would upload"),
        ("y.txt", "would upload"),
    }
    assert "Contents" not in stack.s3.list_objects_v2(Bucket=stack.staging)
    done = upload(str(tmp_path / "clips"))
    assert {r["action"] for r in done} == {"uploaded"}
    head = stack.s3.head_object(Bucket=stack.staging, Key="day1/x.bin", ChecksumMode="ENABLED")
    assert head["ETag"].strip('"').endswith("-2")  # sent as a multipart upload
    local = digests(tmp_path / "clips" / "day1" / "x.bin")
    assert head["ChecksumCRC64NVME"] == local.crc64nvme
    assert head["Metadata"]["conveyor-sha256"] == local.sha256
    assert {r["action"] for r in upload(str(tmp_path / "clips"))} == {"skipped"}


def test_missing_path_is_one_clear_error(stack: Stack, tmp_path: Path) -> None:
    result = runner.invoke(app, ["upload", str(tmp_path / "nope.mov")])
    assert result.exit_code != 0
    assert "no such file or folder" in str(result.exception)
