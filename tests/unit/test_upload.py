"""The streaming multipart writer, against a fake of the few S3 calls it makes."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from batch_job.parts import MiB
from batch_job.upload import OutputConflict, OutputUpload


class NoUploads:
    def paginate(self, **_: Any) -> list[dict[str, Any]]:
        return [{"Uploads": []}]


class FakeS3:
    def __init__(self, fail_part: int | None = None, delay: float = 0.0) -> None:
        self.calls: list[str] = []
        self.parts: dict[int, int] = {}
        self.in_flight = 0
        self.most_in_flight = 0
        self.fail_part = fail_part
        self.delay = delay
        self.lock = threading.Lock()
        self.completed: dict[str, Any] | None = None

    def get_paginator(self, name: str) -> Any:
        """ListMultipartUploads: none open before ours (batch_job.multipart looks first)."""
        assert name == "list_multipart_uploads"
        return NoUploads()

    def create_multipart_upload(self, **kw: Any) -> dict:
        self.calls.append("create")
        return {"UploadId": "u1"}

    def upload_part(self, **kw: Any) -> dict:
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        time.sleep(self.delay)
        with self.lock:
            self.in_flight -= 1
        if kw["PartNumber"] == self.fail_part:
            raise ClientError({"Error": {"Code": "InternalError"}}, "UploadPart")
        self.parts[kw["PartNumber"]] = len(kw["Body"])
        return {"ETag": f'"e{kw["PartNumber"]}"'}

    def complete_multipart_upload(self, **kw: Any) -> dict:
        if "IfMatch" in kw and kw["IfMatch"] != '"current"':
            raise ClientError({"Error": {"Code": "PreconditionFailed"}}, "CompleteMultipartUpload")
        self.calls.append("complete")
        self.completed = kw
        return {"ETag": '"done-3"'}

    def put_object(self, **kw: Any) -> dict:
        self.calls.append("put")
        self.completed = kw
        return {"ETag": '"single"'}

    def abort_multipart_upload(self, **kw: Any) -> dict:
        self.calls.append("abort")
        return {}


def writer(s3: FakeS3, part: int = 8 * MiB) -> OutputUpload:
    return OutputUpload(
        s3, "out", "k", base_part_size=part, metadata={"a": "b"}, content_type="video/mp4"
    )


def test_parts_in_order_bounded_in_flight() -> None:
    s3 = FakeS3(delay=0.05)
    with writer(s3) as upload:
        for _ in range(40):
            upload.write(b"x" * MiB)
        upload.finish()
        assert upload.commit(replacing_etag=None) == "done-3"
    assert s3.calls == ["create", "complete"]
    assert s3.completed is not None and s3.completed["IfNoneMatch"] == "*"
    numbers = [p["PartNumber"] for p in s3.completed["MultipartUpload"]["Parts"]]
    assert numbers == [1, 2, 3, 4, 5] and sum(s3.parts.values()) == 40 * MiB
    assert 2 <= s3.most_in_flight <= 4


def test_small_output_is_one_conditional_put() -> None:
    s3 = FakeS3()
    with writer(s3) as upload:
        upload.write(b"small")
        upload.finish()
        upload.commit(replacing_etag='"old"')
    assert s3.calls == ["put"] and s3.completed["IfMatch"] == '"old"'
    assert s3.completed["Body"] == b"small"


def test_a_failed_part_aborts_the_upload() -> None:
    s3 = FakeS3(fail_part=2)
    with pytest.raises(ClientError), writer(s3) as upload:
        for _ in range(30):
            upload.write(b"x" * MiB)
        upload.finish()
    assert s3.calls[-1] == "abort" and "complete" not in s3.calls


def test_leaving_without_commit_aborts_and_conflict_is_reported() -> None:
    s3 = FakeS3()
    with writer(s3) as upload:
        for _ in range(9):
            upload.write(b"x" * MiB)
        upload.finish()
        with pytest.raises(OutputConflict):
            upload.commit(replacing_etag='"stale"')
    assert s3.calls == ["create", "abort"]


def test_the_filesystem_root_is_never_uploaded() -> None:
    import pytest

    from conveyor.errors import ConveyorError
    from conveyor_cli.uploads.walk import files

    with pytest.raises(ConveyorError, match="whole filesystem"):
        files(["/"], "")
    with pytest.raises(ConveyorError, match="whole filesystem"):
        files(["/tmp/.."], "")
