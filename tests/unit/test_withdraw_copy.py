"""Bad input found after the archive copy was made: which copy goes, and only while the original
is still in staging (a fake S3 that notes what is deleted)."""

from __future__ import annotations

from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from batch_job.archive import Archived
from batch_job.errors import Transient
from batch_job.source import Source
from batch_job.steps import withdraw_copy


class FakeS3:
    def __init__(self, *, original_in_staging: bool) -> None:
        self.original_in_staging = original_in_staging
        self.deleted: list[dict[str, Any]] = []

    def head_object(self, **request: Any) -> dict[str, Any]:
        if not self.original_in_staging:
            raise ClientError({"Error": {"Code": "404"}}, "HeadObject")
        return {
            "ETag": '"e1"',
            "ContentLength": 10,
            "LastModified": datetime(2026, 1, 1, tzinfo=UTC),
            "VersionId": request.get("VersionId", "null"),
        }

    def delete_object(self, **request: Any) -> None:
        self.deleted.append(request)


def original(version_id: str | None = "v1") -> Source:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    return Source("staging", "cut.mp4", version_id, "e1", 10, when, {}, None)


def archived(version_id: str | None = "a1", *, reused: bool = False) -> Future[Archived]:
    done: Future[Archived] = Future()
    done.set_result(Archived("archive", "cut.mp4", version_id, "e1", 10, reused=reused))
    return done


@pytest.mark.parametrize("reused", [False, True], ids=["made-now", "left-by-a-killed-run"])
def test_the_copy_of_this_version_is_removed_by_its_version_id(reused: bool) -> None:
    s3 = FakeS3(original_in_staging=True)
    withdraw_copy(s3, original(), archived(reused=reused))
    assert s3.deleted == [{"Bucket": "archive", "Key": "cut.mp4", "VersionId": "a1"}]


def test_without_staging_versions_a_copy_made_now_goes_pinned_by_etag() -> None:
    s3 = FakeS3(original_in_staging=True)
    withdraw_copy(s3, original(None), archived(None))
    assert s3.deleted == [{"Bucket": "archive", "Key": "cut.mp4", "IfMatch": '"e1"'}]


def test_without_staging_versions_a_copy_found_by_etag_stays() -> None:
    """It may be an earlier upload's of the same bytes, whose job finished."""
    s3 = FakeS3(original_in_staging=True)
    withdraw_copy(s3, original(None), archived("a0", reused=True))
    assert s3.deleted == []


def test_the_copy_stays_when_the_original_left_staging() -> None:
    s3 = FakeS3(original_in_staging=False)
    withdraw_copy(s3, original(), archived())
    assert s3.deleted == []


def test_nothing_to_remove_when_nothing_was_archived() -> None:
    s3 = FakeS3(original_in_staging=True)
    failed: Future[Archived] = Future()
    failed.set_exception(Transient("copy failed"))
    withdraw_copy(s3, original(), failed)
    assert s3.deleted == []
