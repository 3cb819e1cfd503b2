"""Copy the original to the archive, prove the copy, and only then delete that one version.

The copy is CopyObject up to the single-copy limit (5 GB), UploadPartCopy above it (made by
batch_job.multipart), and also for a multipart original without a full-object checksum; the parts
have the original's part size, so the copy's ETag matches. The copy is verified by size and then
by a full-object checksum of the same kind, the ETag, or, when neither can decide, by reading both
and comparing SHA-256 digests.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from batch_job.errors import Transient
from batch_job.multipart import copy_in_parts
from batch_job.parts import MIN_PART_SIZE, MiB
from batch_job.source import PinnedReader, Source, checksums_of
from conveyor.metadata import SOURCE_ETAG, SOURCE_VERSION
from conveyor.objects import normalize_etag, pin
from conveyor.s3 import MISSING, error_code, head_or_none

logger = logging.getLogger(__name__)

SINGLE_COPY_LIMIT = 5 * 1024**3
"""CopyObject copies at most 5 GB; larger objects need UploadPartCopy."""
COPY_PART_SIZE = 256 * MiB
"""Part size of a multipart copy when the original's own part size is unknown."""
ARCHIVE_SEARCH_LIMIT = 50
"""Archive versions of one key inspected when looking for an earlier run's copy."""


@dataclass(frozen=True)
class Archived:
    bucket: str
    key: str
    version_id: str | None
    etag: str
    size: int
    reused: bool = False
    """True when an earlier run of this job had already made and verified the copy."""


def archive(s3: Any, source: Source, bucket: str, *, single_copy_limit: int) -> Archived:
    """Copy `source` to `bucket` under the same key and verify it; reuse an earlier run's copy."""
    earlier = find_archived(s3, bucket, source.key, source.version_id, source.etag)
    if earlier is not None:
        verify(s3, source, earlier)
        logger.info("archive copy from an earlier run found and verified: %s", earlier.version_id)
        return earlier
    abort_open_uploads(s3, bucket, source.key)
    metadata = {
        **source.metadata,
        SOURCE_VERSION: source.version_id or "",
        SOURCE_ETAG: source.etag,
    }
    extra: dict[str, Any] = {
        "MetadataDirective": "REPLACE",
        "Metadata": {k: v for k, v in metadata.items() if v},
        "ContentType": source.content_type,
        "CopySourceIfMatch": f'"{source.etag}"',
    }
    multipart = source.size > single_copy_limit or (
        "-" in source.etag and not _has_full_object_checksum(source)
    )
    copy_source = {"Bucket": source.bucket, "Key": source.key}
    if source.version_id:
        copy_source["VersionId"] = source.version_id
    if multipart:
        copy_in_parts(
            s3,
            copy_source,
            bucket,
            source.key,
            size=source.size,
            part_size=_part_size_of(s3, source, single_copy_limit),
            create={"Metadata": extra["Metadata"], "ContentType": extra["ContentType"]},
            each_part={"CopySourceIfMatch": extra["CopySourceIfMatch"]},
        )
        copied = find_archived(s3, bucket, source.key, source.version_id, source.etag)
        if copied is None:
            raise Transient(f"archive copy of {source.key} is not visible after copying")
    else:
        response = s3.copy_object(CopySource=copy_source, Bucket=bucket, Key=source.key, **extra)
        copied = Archived(
            bucket=bucket,
            key=source.key,
            version_id=response.get("VersionId"),
            etag=normalize_etag(response["CopyObjectResult"]["ETag"]),
            size=source.size,
        )
    verify(s3, source, copied)
    logger.info(
        "archived s3://%s/%s (version %s) as version %s, verified",
        source.bucket,
        source.key,
        source.version_id,
        copied.version_id,
    )
    return dataclasses.replace(copied, reused=False)


def find_archived(
    s3: Any, bucket: str, key: str, version_id: str | None, etag: str
) -> Archived | None:
    """The archive version that a Conveyor copy of this staging version made, if any.

    The key's current archive version is looked at first (one HEAD); older versions are listed
    only when the current one belongs to another upload.
    """
    current = head_or_none(s3, Bucket=bucket, Key=key)
    if current is None:
        return None
    if _copied_from(current, version_id, etag):
        return _archived(bucket, key, current)
    listing = s3.list_object_versions(Bucket=bucket, Prefix=key, MaxKeys=ARCHIVE_SEARCH_LIMIT)
    for version in listing.get("Versions", []):
        if version["Key"] != key or version["VersionId"] == current.get("VersionId"):
            continue
        head = s3.head_object(Bucket=bucket, Key=key, VersionId=version["VersionId"])
        if _copied_from(head, version_id, etag):
            return _archived(bucket, key, head)
    return None


def _copied_from(head: dict[str, Any], version_id: str | None, etag: str) -> bool:
    meta = head.get("Metadata", {})
    if version_id:
        return meta.get(SOURCE_VERSION) == version_id
    return meta.get(SOURCE_ETAG) == normalize_etag(etag)


def _archived(bucket: str, key: str, head: dict[str, Any]) -> Archived:
    version = head.get("VersionId")
    return Archived(
        bucket=bucket,
        key=key,
        version_id=version if version not in (None, "null") else None,
        etag=normalize_etag(head["ETag"]),
        size=int(head["ContentLength"]),
        reused=True,
    )


def verify(s3: Any, source: Source, copied: Archived) -> None:
    """Raise unless the archive copy holds exactly the original's bytes."""
    head = s3.head_object(
        Bucket=copied.bucket,
        Key=copied.key,
        ChecksumMode="ENABLED",
        **pin(copied.version_id, copied.etag),
    )
    verdict = compare(source, head)
    if verdict is None:
        verdict = _digest(s3, source) == _digest_of_copy(s3, source, copied)
        logger.info("archive copy of %s verified by reading both (SHA-256)", source.key)
    if not verdict:
        raise Transient(f"archive copy of {source.key} does not match the original")


def compare(source: Source, copy_head: dict[str, Any]) -> bool | None:
    """Decide from metadata alone: True, False, or None when metadata cannot tell."""
    if int(copy_head["ContentLength"]) != source.size:
        return False
    copied = checksums_of(copy_head)
    same_kind = source.checksum_type == copy_head.get("ChecksumType") != "COMPOSITE"
    for algorithm, value in source.checksums.items():
        if algorithm in copied and same_kind:
            return copied[algorithm] == value
    if normalize_etag(copy_head["ETag"]) == source.etag:
        return True
    return None


def delete_original(s3: Any, source: Source) -> None:
    """Delete exactly the archived version: by VersionId, or If-Match without versioning."""
    try:
        s3.delete_object(Bucket=source.bucket, Key=source.key, **source.pin())
    except ClientError as err:
        if error_code(err) in MISSING:
            return
        raise
    logger.info("deleted s3://%s/%s version %s", source.bucket, source.key, source.version_id)


def remove_copy(s3: Any, archived: Archived) -> None:
    """Delete exactly this archive version (by VersionId, or If-Match without versioning)."""
    try:
        s3.delete_object(
            Bucket=archived.bucket, Key=archived.key, **pin(archived.version_id, archived.etag)
        )
    except ClientError as err:
        if error_code(err) in MISSING:
            return
        raise


def _has_full_object_checksum(source: Source) -> bool:
    """CopyObject keeps such a checksum, so the copy can be verified without reading it."""
    return bool(source.checksums) and source.checksum_type in ("FULL_OBJECT", None)


def abort_open_uploads(s3: Any, bucket: str, key: str) -> int:
    """Abort multipart uploads to exactly `key` left open by a run that was killed."""
    aborted = 0
    listing = s3.list_multipart_uploads(Bucket=bucket, Prefix=key)
    for upload in listing.get("Uploads", []):
        if upload["Key"] != key:
            continue
        try:
            s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload["UploadId"])
            aborted += 1
        except ClientError as err:
            if error_code(err) != "NoSuchUpload":
                raise
    if aborted:
        logger.warning(
            "aborted %d multipart upload(s) left open on s3://%s/%s", aborted, bucket, key
        )
    return aborted


def _part_size_of(s3: Any, source: Source, single_copy_limit: int) -> int:
    """The original's part size (S3 reports it per part), so the copy's ETag matches; else
    parts no larger than a single copy."""
    fallback = min(COPY_PART_SIZE, max(MIN_PART_SIZE, single_copy_limit))
    try:
        head = s3.head_object(Bucket=source.bucket, Key=source.key, PartNumber=1, **source.pin())
    except ClientError:
        return fallback
    if head.get("PartsCount") and int(head["ContentLength"]) >= MIN_PART_SIZE:
        return int(head["ContentLength"])
    return fallback


def _digest(s3: Any, source: Source) -> str:
    digest = hashlib.sha256()
    for chunk in PinnedReader(s3, source):
        digest.update(chunk)
    return digest.hexdigest()


def _digest_of_copy(s3: Any, source: Source, copied: Archived) -> str:
    """The copy read like the original: same size, pinned to the copy's own version."""
    as_copy = dataclasses.replace(
        source,
        bucket=copied.bucket,
        key=copied.key,
        version_id=copied.version_id,
        etag=copied.etag,
    )
    return _digest(s3, as_copy)
