"""`conveyor upload`: only different content is sent, judged by checksum."""

from __future__ import annotations

import json
import os
from pathlib import Path

from typer.testing import CliRunner

from conveyor_cli.main import app
from conveyor_cli.uploads.digest import digest_file
from conveyor_cli.uploads.parts import PART_SIZE
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
    path = tmp_path / "clips" / "day1" / "x.bin"
    local = digest_file(str(path), path.stat().st_size, PART_SIZE)
    assert head["ChecksumCRC64NVME"] == local.crc64nvme
    assert head["ETag"].strip('"') == local.etag  # predictable: a listing can decide
    assert head["Metadata"]["conveyor-part-size"] == str(PART_SIZE)
    assert {r["action"] for r in upload(str(tmp_path / "clips"))} == {"skipped"}


def test_missing_path_is_one_clear_error(stack: Stack, tmp_path: Path) -> None:
    result = runner.invoke(app, ["upload", str(tmp_path / "nope.mov")])
    assert result.exit_code != 0
    assert "no such file or folder" in str(result.exception)


def aged(path: Path, content: bytes) -> Path:
    """A file last written an hour ago: its cache entry is not racy."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - 3600 * 10**9))
    return path


def test_an_unchanged_folder_is_decided_from_listings_and_the_cache_alone(
    stack: Stack, tmp_path: Path, monkeypatch
) -> None:
    from conveyor_cli.uploads import run as run_module
    from conveyor_cli.uploads import send as send_module

    names = ["a.txt", "sub/b c+d.txt", "sub/ü%41.bin", "q?&=.txt", "z" * 40]
    for i, name in enumerate(names):
        aged(tmp_path / "f" / name, os.urandom(100 + i))
    first = upload(str(tmp_path / "f"), "--key-prefix", "p/", "--jobs", "4")
    assert {(r["action"], r["reason"], r["decided_by"]) for r in first} == {
        ("uploaded", "new", "listing")
    }

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("an unchanged file was read or sent")

    monkeypatch.setattr(run_module, "digest_file", never)
    monkeypatch.setattr(run_module, "put_single", never)
    monkeypatch.setattr(send_module, "head_or_none", never)
    second = upload(str(tmp_path / "f"), "--key-prefix", "p/")
    assert {(r["action"], r["reason"], r["decided_by"]) for r in second} == {
        ("skipped", "same content already in staging", "listing+cache")
    }


def test_racy_and_missing_cache_entries_are_hashed_again(stack: Stack, tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.bin"  # written now: its cache entry is racy
    fresh.write_bytes(os.urandom(300))
    upload(str(fresh))
    [again] = upload(str(fresh))
    assert (again["action"], again["decided_by"]) == ("skipped", "listing+hash")
    cache = Path(os.environ["CONVEYOR_CACHE_DIR"]) / "upload-digests.sqlite3"
    cache.write_bytes(b"garbage" * 50)  # a corrupt cache is rebuilt, never trusted
    old = aged(tmp_path / "old.bin", os.urandom(300))
    [sent] = upload(str(old))
    assert sent["action"] == "uploaded"
    cache.write_bytes(b"\0" * 4096)
    [rehashed] = upload(str(old))
    assert (rehashed["action"], rehashed["decided_by"]) == ("skipped", "listing+hash")
    [cached] = upload(str(old))
    assert cached["decided_by"] == "listing+cache"


def test_a_multipart_file_archived_by_a_job_is_proven_once_then_decided_by_listing(
    stack: Stack, tmp_path: Path
) -> None:
    path = aged(tmp_path / "big.bin", os.urandom(11 * 1024 * 1024))
    [first] = upload(str(path), "--part-size", "5")
    assert first["action"] == "uploaded"
    head = stack.s3.head_object(Bucket=stack.staging, Key="big.bin")
    assert head["ETag"].strip('"').endswith("-3")
    obj = Uploaded("big.bin", head["VersionId"], head["ETag"].strip('"'), b"")
    assert run_worker(stack, obj).returncode == 0  # archived by CopyObject: another ETag
    archived = stack.s3.head_object(Bucket=stack.settings["CONVEYOR_ARCHIVE_BUCKET"], Key="big.bin")
    assert archived["ETag"] != head["ETag"]
    [proven] = upload(str(path), "--part-size", "5")
    assert (proven["action"], proven["reason"]) == ("skipped", "same content already in archive")
    assert proven["decided_by"] == "listing+cache+HEAD"
    [listed] = upload(str(path), "--part-size", "5")
    assert (listed["action"], listed["decided_by"]) == ("skipped", "listing+cache")


def test_keys_past_the_listing_budget_are_decided_by_head(
    stack: Stack, tmp_path: Path, monkeypatch
) -> None:
    from conveyor_cli.uploads import listing, run

    for i in range(6):
        aged(tmp_path / "d" / f"k{i}.txt", f"content {i}".encode())
    upload(str(tmp_path / "d"))
    monkeypatch.setattr(listing, "PAGE", 2)
    monkeypatch.setattr(run, "LISTING_BUDGET", 0)
    monkeypatch.setattr(run, "LISTING_MINIMUM", 1)
    (tmp_path / "d" / "k5.txt").write_bytes(b"changed")
    results = {r["key"]: r for r in upload(str(tmp_path / "d"))}
    assert results["k0.txt"]["decided_by"] == "listing+cache"
    assert results["k4.txt"]["decided_by"].startswith("HEAD")
    assert results["k4.txt"]["action"] == "skipped"
    # staging's listing stopped before k5 (a HEAD says), the archive's is whole
    assert (results["k5.txt"]["action"], results["k5.txt"]["decided_by"]) == (
        "uploaded",
        "HEAD+listing",
    )


def test_many_files_at_once_each_one_right(stack: Stack, tmp_path: Path) -> None:
    contents = {f"n/{i:03}.bin": os.urandom(i * 37) for i in range(60)}
    for key, body in contents.items():
        (tmp_path / key).parent.mkdir(exist_ok=True)
        (tmp_path / key).write_bytes(body)
    done = upload(str(tmp_path / "n"), "--key-prefix", "n/", "--jobs", "16")
    assert [r["key"] for r in done] == sorted(contents)  # the order of the files, not of finishing
    assert {r["action"] for r in done} == {"uploaded"}
    for key, body in contents.items():
        assert stack.s3.get_object(Bucket=stack.staging, Key=key)["Body"].read() == body


def test_bad_flags_are_one_clear_line(stack: Stack, tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"a")
    for flags, says in (
        (["--jobs", "0"], "--jobs 0: give 1 to 64"),
        (["--part-size", "4"], "--part-size 4: give 5 to 5120"),
    ):
        result = runner.invoke(app, ["upload", str(tmp_path / "a"), *flags])
        assert result.exit_code != 0 and says in str(result.exception)
    assert "Contents" not in stack.s3.list_objects_v2(Bucket=stack.staging)


def test_the_newest_copy_decides_a_waiting_upload_outweighs_the_archive(
    stack: Stack, tmp_path: Path
) -> None:
    path = aged(tmp_path / "clip.bin", b"A" * 500)
    archive = stack.settings["CONVEYOR_ARCHIVE_BUCKET"]
    stack.s3.put_object(Bucket=archive, Key="clip.bin", Body=b"A" * 500)  # processed before
    [skipped] = upload(str(path))
    assert skipped["reason"] == "same content already in archive"
    waiting = {"Body": b"B" * 500, "ChecksumAlgorithm": "CRC64NVME"}
    stack.s3.put_object(Bucket=stack.staging, Key="clip.bin", **waiting)
    [sent] = upload(str(path))  # or B's output would be the last word
    assert sent["action"] == "uploaded"
    assert sent["reason"] == (
        "the archive holds this content, but another upload of the key in staging waits for its job"
    )
    body = stack.s3.get_object(Bucket=stack.staging, Key="clip.bin")["Body"].read()
    assert body == b"A" * 500


def test_a_failed_upload_left_in_staging_never_outweighs_the_archive(
    stack: Stack, tmp_path: Path
) -> None:
    from tests.integration.test_cli_display import arrive, fail

    [job] = arrive(stack, "clip.mov")["clip.mov"]  # b"x", routed to h264-720p
    fail(stack, job, "not a video")  # FAILED: it stays in staging, waiting for nothing
    archive = stack.settings["CONVEYOR_ARCHIVE_BUCKET"]
    stack.s3.put_object(Bucket=archive, Key="clip.mov", Body=b"B" * 500)  # a later fix, done
    path = aged(tmp_path / "clip.mov", b"B" * 500)
    for _ in range(2):  # never sent (and transcoded) again, run after run
        [again] = upload(str(path))
        assert (again["action"], again["reason"]) == ("skipped", "same content already in archive")
