"""Multipart uploads that leave nothing open when an answer is lost.

CreateMultipartUpload is not idempotent: when S3 made the upload but its answer was lost, the
retry makes a second one, and the first stays open (billed, invisible, until the bucket's
lifecycle rule aborts it a day later). So the uploads already open on the key are noted first,
and when botocore had to retry the create, the uploads that appeared meanwhile, other than the
one it returned, are aborted. An archive copy above the single-copy limit is made here too, part
by part (UploadPartCopy), so that its upload is created the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from conveyor.s3 import error_code

logger = logging.getLogger(__name__)

COPY_CONCURRENCY = 8
"""UploadPartCopy requests at once (S3 copies; the worker only waits)."""


def open_uploads(s3: Any, bucket: str, key: str) -> set[str]:
    """Ids of the multipart uploads open on exactly `key`."""
    found: set[str] = set()
    for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=bucket, Prefix=key):
        found.update(u["UploadId"] for u in page.get("Uploads", []) if u["Key"] == key)
    return found


def create_upload(s3: Any, bucket: str, key: str, **extra: Any) -> str:
    """CreateMultipartUpload, leaving no second upload behind when a lost answer was retried."""
    before = open_uploads(s3, bucket, key)
    try:
        created = s3.create_multipart_upload(Bucket=bucket, Key=key, **extra)
    except (ClientError, BotoCoreError):
        abort_strays(s3, bucket, key, known=before)  # a try may have been applied
        raise
    upload_id = str(created["UploadId"])
    if created.get("ResponseMetadata", {}).get("RetryAttempts"):
        abort_strays(s3, bucket, key, known=before | {upload_id})
    return upload_id


def abort_strays(s3: Any, bucket: str, key: str, *, known: set[str]) -> int:
    """Abort the uploads open on `key` that are not `known`: ones a retried create left."""
    strays = open_uploads(s3, bucket, key) - known
    for upload_id in strays:
        abort(s3, bucket, key, upload_id)
    if strays:
        logger.warning("aborted %d upload(s) a retried create left on %s", len(strays), key)
    return len(strays)


def abort(s3: Any, bucket: str, key: str, upload_id: str) -> None:
    """AbortMultipartUpload; one already gone (a retry of a lost answer) is fine."""
    try:
        s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
    except ClientError as err:
        if error_code(err) != "NoSuchUpload":
            raise


def copy_in_parts(
    s3: Any,
    copy_source: Mapping[str, str],
    bucket: str,
    key: str,
    *,
    size: int,
    part_size: int,
    create: Mapping[str, Any],
    each_part: Mapping[str, Any],
) -> dict[str, Any]:
    """Copy `size` bytes of `copy_source` to `bucket`/`key` in parts of `part_size` (the last
    one shorter), with `create` for the upload (metadata, content type) and `each_part` for every
    UploadPartCopy (CopySourceIfMatch); a failure aborts the upload. Returns Complete's answer."""
    upload_id = create_upload(s3, bucket, key, **create)
    ranges = [(start, min(start + part_size, size) - 1) for start in range(0, size, part_size)]

    def copy_part(number: int, first: int, last: int) -> dict[str, Any]:
        answer = s3.upload_part_copy(
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            CopySource=dict(copy_source),
            CopySourceRange=f"bytes={first}-{last}",
            **each_part,
        )
        return {"PartNumber": number, "ETag": answer["CopyPartResult"]["ETag"]}

    try:
        with ThreadPoolExecutor(COPY_CONCURRENCY, thread_name_prefix="copy") as pool:
            futures = [pool.submit(copy_part, n, *r) for n, r in enumerate(ranges, start=1)]
            parts = [future.result() for future in futures]
        return dict(
            s3.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        )
    except BaseException:
        try:
            abort(s3, bucket, key, upload_id)
        except (ClientError, BotoCoreError):
            logger.exception("could not abort the copy's upload %s of %s", upload_id, key)
        raise
