"""Small S3 helpers every part needs: what an error was, and "is it there?" without a try block."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from conveyor.objects import pin

MISSING = frozenset({"404", "NoSuchKey", "NoSuchVersion", "NotFound"})
"""What S3 answers for an object (or version) that is not there; HEAD has no body, so "404"."""
PRECONDITION_FAILED = frozenset({"PreconditionFailed", "412"})
"""An If-Match or If-None-Match that did not hold: the key holds other bytes than we named."""


def error_code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def head_or_none(s3: Any, **request: Any) -> dict[str, Any] | None:
    """HeadObject, or None when the object or version does not exist; other errors propagate."""
    try:
        return s3.head_object(**request)
    except ClientError as err:
        if error_code(err) in MISSING:
            return None
        raise


def holds_version(s3: Any, bucket: str, key: str, version_id: str | None, etag: str) -> bool:
    """Whether `bucket` still holds exactly that version of `key` (by its ETag without
    versioning: other bytes under the key now are not it)."""
    try:
        return head_or_none(s3, Bucket=bucket, Key=key, **pin(version_id, etag)) is not None
    except ClientError as err:
        if error_code(err) in PRECONDITION_FAILED:  # the key holds other bytes now
            return False
        raise


def versions_of_key(s3: Any, bucket: str, key: str) -> list[dict[str, Any]]:
    """Every version of exactly `key` (not of keys it is a prefix of), newest first: the bucket's
    own order, which holds where LastModified ties (one-second resolution) and events carry no
    sequencer. On a bucket without versioning the one version has VersionId "null"."""
    found: list[dict[str, Any]] = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key):
        versions = page.get("Versions", [])
        found += [v for v in versions if v["Key"] == key]
        if any(v["Key"] != key for v in versions):
            break  # `key` sorts before every longer key it prefixes: the rest is other keys
    return found
