"""The original in staging, pinned to one version for every byte read.

Every GET, first or after a dropped connection, names the version (VersionId, or If-Match on the
ETag in a bucket without versioning), so a newer upload of the same key can never be spliced in.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from batch_job.errors import BadInput, Transient, is_transient
from conveyor.objects import normalize_etag, pin
from conveyor.s3 import MISSING, PRECONDITION_FAILED, error_code, head_or_none

logger = logging.getLogger(__name__)

CHUNK = 1024 * 1024
"""Bytes per read: large enough to amortise Python's overhead, small against a part."""
RECONNECTS = 5
"""Dropped connections tolerated per read before the job is retried as a whole (exit 75)."""


@dataclass(frozen=True)
class Source:
    """One version of the original, as HeadObject described it."""

    bucket: str
    key: str
    version_id: str | None
    etag: str
    size: int
    last_modified: datetime
    checksums: dict[str, str]
    """Algorithm (CRC32, CRC64NVME, SHA256...) -> base64 value, as S3 stores them."""
    checksum_type: str | None
    content_type: str = "binary/octet-stream"
    metadata: dict[str, str] = field(default_factory=dict)
    """The uploader's own metadata, carried to the archive copy."""

    def pin(self) -> dict[str, str]:
        """Request parameters that address exactly this version."""
        return pin(self.version_id, self.etag)


def locate(
    s3: Any, bucket: str, key: str, version_id: str | None, etag: str | None
) -> Source | None:
    """HEAD the pinned version; None when staging no longer holds it."""
    request: dict[str, Any] = {"Bucket": bucket, "Key": key, "ChecksumMode": "ENABLED"}
    request.update(pin(version_id, etag))
    try:
        head = head_or_none(s3, **request)
    except ClientError as err:
        if error_code(err) in PRECONDITION_FAILED:  # the version is gone
            return None
        raise
    if head is None:
        return None
    found = normalize_etag(head["ETag"])
    if etag and version_id and found != normalize_etag(etag):
        raise BadInput(f"version {version_id} of {key} has ETag {found}, the job expected {etag}")
    version = head.get("VersionId")
    return Source(
        bucket=bucket,
        key=key,
        version_id=version if version not in (None, "null") else None,
        etag=found,
        size=int(head["ContentLength"]),
        last_modified=head["LastModified"],
        checksums=checksums_of(head),
        checksum_type=head.get("ChecksumType"),
        content_type=head.get("ContentType", "binary/octet-stream"),
        metadata=dict(head.get("Metadata", {})),
    )


def checksums_of(head: dict[str, Any]) -> dict[str, str]:
    return {
        name.removeprefix("Checksum"): value
        for name, value in head.items()
        if name.startswith("Checksum") and name != "ChecksumType" and isinstance(value, str)
    }


class PinnedReader:
    """A forward-only stream of one version that resumes where it broke off."""

    def __init__(
        self, s3: Any, source: Source, on_read: Callable[[int], None] | None = None
    ) -> None:
        self._s3 = s3
        self._source = source
        self._position = 0
        self._body: Any = None
        self._on_read = on_read or (lambda n: None)

    def read_chunk(self) -> bytes:
        """The next bytes (at most CHUNK) as the socket gave them; b"" at the end."""
        if self._position >= self._source.size:
            self.close()
            return b""
        for attempt in range(RECONNECTS + 1):
            try:
                data = (self._body or self._open()).read(CHUNK)
            except Exception as err:
                if not (is_transient(err) or isinstance(err, OSError)):
                    raise
                self.close()
                if attempt == RECONNECTS:
                    raise Transient(
                        f"reading {self._source.key} failed {RECONNECTS + 1} times: {err!r}"
                    ) from err
                logger.warning(
                    "read of %s broke at byte %d (%r); resuming",
                    self._source.key,
                    self._position,
                    err,
                )
                time.sleep(min(0.2 * 2**attempt, 5.0))
                continue
            if not data:
                self.close()
                raise Transient(
                    f"{self._source.key} ended at byte {self._position} of {self._source.size}"
                )
            self._position += len(data)
            self._on_read(len(data))
            return data
        raise AssertionError("unreachable")

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read_chunk():
            yield chunk

    def close(self) -> None:
        if self._body is not None:
            body, self._body = self._body, None
            body.close()

    def _open(self) -> Any:
        request = {"Bucket": self._source.bucket, "Key": self._source.key, **self._source.pin()}
        if self._position:
            request["Range"] = f"bytes={self._position}-"
        try:
            response = self._s3.get_object(**request)
        except ClientError as err:
            code = error_code(err)
            if code in MISSING or code in PRECONDITION_FAILED:
                raise Transient(
                    f"{self._source.key} changed or vanished while being read ({code})"
                ) from err
            raise
        self._body = response["Body"]
        return self._body


@dataclass(frozen=True)
class SignedGet:
    """A presigned GET of exactly this version, for tools (ffmpeg) that read by HTTP and seek."""

    url: str
    headers: dict[str, str]
    """Headers the URL was signed with, which every request must send (If-Match, unversioned)."""


def presigned_get(s3: Any, source: Source, expires: int) -> SignedGet:
    """Sign a GET pinned like every other read: VersionId in the URL, or a signed If-Match."""
    params = {"Bucket": source.bucket, "Key": source.key, **source.pin()}
    url = s3.generate_presigned_url("get_object", Params=params, ExpiresIn=expires)
    headers = {"If-Match": params["IfMatch"]} if "IfMatch" in params else {}
    return SignedGet(url, headers)
