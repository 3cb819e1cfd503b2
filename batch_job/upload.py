"""Streaming an output to S3: several parts in flight, bounded memory, committed on a condition.

Bytes are gathered into parts and sent by a small thread pool while the transform keeps producing;
`write` blocks once the parts in flight fill the memory budget. Nothing is visible in the bucket
until `commit`, which completes the upload only if the key still holds what we decided to replace
(If-Match) or nothing (If-None-Match). Leaving the `with` block without a commit aborts the upload,
so a failed write never leaves parts behind.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from batch_job.errors import BadInput
from batch_job.limits import MAX_OUTPUT_BYTES
from batch_job.multipart import create_upload
from batch_job.parts import MAX_PARTS, part_size, parts_in_flight
from batch_job.source import checksums_of
from conveyor.s3 import PRECONDITION_FAILED, error_code

logger = logging.getLogger(__name__)


CHECKSUM = "CRC32"
"""Every part carries a CRC32 that S3 checks; the object keeps a (composite) CRC32 for readers."""


class OutputConflict(Exception):
    """The output key changed since we looked: decide again before committing."""


def as_conflict(err: ClientError, bucket: str, key: str) -> OutputConflict | None:
    """A conditional commit's refusal as OutputConflict (the key changed, or another writer's
    commit is under way); None for any other error."""
    if error_code(err) in PRECONDITION_FAILED:
        return OutputConflict(f"s3://{bucket}/{key} changed")
    if error_code(err) == "ConditionalRequestConflict":
        return OutputConflict(f"s3://{bucket}/{key} is being written")
    return None


class OutputUpload:
    def __init__(
        self,
        s3: Any,
        bucket: str,
        key: str,
        *,
        base_part_size: int,
        metadata: dict[str, str],
        content_type: str,
        on_written: Callable[[int], None] | None = None,
        on_started: Callable[[str], None] | None = None,
        max_bytes: int | None = None,
    ) -> None:
        self.bucket, self.key = bucket, key
        self._s3 = s3
        self._base = base_part_size
        self._extra = {
            "Metadata": metadata,
            "ContentType": content_type,
            "ChecksumAlgorithm": CHECKSUM,
        }
        self._on_written = on_written or (lambda n: None)
        self._on_started = on_started or (lambda upload_id: None)
        self._max_bytes = max_bytes
        self._total = 0
        self._chunks: list[bytes] = []
        self._buffered = 0
        self._next_part = 1
        self._parts: dict[int, dict[str, Any]] = {}
        self._futures: list[Future[None]] = []
        self._slots = threading.BoundedSemaphore(parts_in_flight(base_part_size))
        self._pool: ThreadPoolExecutor | None = None
        self.upload_id: str | None = None
        self.committed = False

    def __enter__(self) -> OutputUpload:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if not self.committed:
            self.abort()

    # --- producing ----------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        if not data:
            return
        self._total += len(data)
        if self._max_bytes is not None and self._total > self._max_bytes:
            # Bad input: the transform of this input would only grow further (a decompression
            # bomb, a runaway filter). Raising aborts the upload when the `with` block ends.
            raise BadInput(f"the output exceeds {MAX_OUTPUT_BYTES}={self._max_bytes} bytes")
        self._chunks.append(data)
        self._buffered += len(data)
        if self._buffered >= part_size(self._next_part, self._base):
            self._send(self._take())

    def finish(self) -> None:
        """Send what is buffered and wait for every part; the upload is not yet visible."""
        if self.upload_id is not None and self._buffered:
            self._send(self._take())
        self._wait()

    # --- committing ---------------------------------------------------------------------------

    def commit(self, *, replacing_etag: str | None) -> str:
        """Make the output visible if the key holds `replacing_etag` (None: holds nothing)."""
        condition = {"IfMatch": replacing_etag} if replacing_etag else {"IfNoneMatch": "*"}
        try:
            if self.upload_id is None:
                body = b"".join(self._chunks)
                response = self._s3.put_object(
                    Bucket=self.bucket, Key=self.key, Body=body, **self._extra, **condition
                )
                self._on_written(len(body))
            else:
                parts = [self._parts[n] for n in sorted(self._parts)]
                response = self._s3.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=self.key,
                    UploadId=self.upload_id,
                    MultipartUpload={"Parts": parts},
                    **condition,
                )
        except ClientError as err:
            conflict = as_conflict(err, self.bucket, self.key)
            if conflict is None:
                raise
            raise conflict from err
        self.committed = True
        self._shutdown()
        return str(response["ETag"]).strip('"')

    def abort(self) -> None:
        """Drop the parts; safe to call more than once and after a failure."""
        self._shutdown(cancel=True)
        if self.upload_id is None:
            return
        upload_id, self.upload_id = self.upload_id, None
        try:
            self._s3.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=upload_id)
            logger.info("aborted upload of s3://%s/%s", self.bucket, self.key)
        except ClientError as err:
            if error_code(err) != "NoSuchUpload":
                raise

    # --- plumbing -----------------------------------------------------------------------------

    def _take(self) -> bytes:
        data = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
        self._chunks, self._buffered = [], 0
        return data

    def _send(self, data: bytes) -> None:
        if self.upload_id is None:
            self.upload_id = create_upload(self._s3, self.bucket, self.key, **self._extra)
            self._on_started(self.upload_id)
            self._pool = ThreadPoolExecutor(
                max_workers=parts_in_flight(self._base), thread_name_prefix="part"
            )
        number = self._next_part
        if number > MAX_PARTS:
            raise BadInput(f"output exceeds what {MAX_PARTS} parts can hold")
        self._next_part += 1
        self._raise_failed()
        self._slots.acquire()
        assert self._pool is not None
        future = self._pool.submit(self._upload_part, number, data)
        future.add_done_callback(lambda f: self._slots.release())
        self._futures.append(future)

    def _upload_part(self, number: int, data: bytes) -> None:
        response = self._s3.upload_part(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self.upload_id,
            PartNumber=number,
            Body=data,
            ChecksumAlgorithm=CHECKSUM,
        )
        checksums = {f"Checksum{name}": value for name, value in checksums_of(response).items()}
        self._parts[number] = {"PartNumber": number, "ETag": response["ETag"], **checksums}
        self._on_written(len(data))

    def _raise_failed(self) -> None:
        done = [f for f in self._futures if f.done()]
        for future in done:
            future.result()  # raises the part's error
        self._futures = [f for f in self._futures if not f.done()]

    def _wait(self) -> None:
        for future in self._futures:
            future.result()
        self._futures = []

    def _shutdown(self, cancel: bool = False) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=cancel)
            self._pool = None
