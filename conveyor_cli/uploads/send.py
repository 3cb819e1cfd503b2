"""Sending one file to staging: a single PUT, or a multipart upload that hashes as it sends.

Every byte is read once. Each part goes up with its CRC64NVME, and the parts' CRCs combine into the
full-object CRC64NVME that completes the upload, so S3 checks the whole object against what was
read. A multipart upload a killed run left open is resumed: its parts are listed and each one whose
checksum matches the file's bytes at that place is kept; only the others are sent. The upload is
left open on any failure, for the next run to resume.
"""

from __future__ import annotations

import mimetypes
import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, wait
from dataclasses import dataclass
from typing import Any

from conveyor.errors import ConveyorError
from conveyor.objects import NO_VERSION, normalize_etag
from conveyor.s3 import head_or_none
from conveyor_cli.uploads.cache import Stat
from conveyor_cli.uploads.digest import (
    ChangedWhileReading,
    Digests,
    Hasher,
    encode_crc,
    md5_of,
    read_part,
)
from conveyor_cli.uploads.parts import ranges
from conveyor_cli.uploads.walk import LocalFile

PART_SIZE_METADATA = "conveyor-part-size"
"""The part size of a multipart upload, in bytes: with the content, it makes the ETag."""
CHECKSUM = {"ChecksumAlgorithm": "CRC64NVME", "ChecksumType": "FULL_OBJECT"}


class Interrupted(ConveyorError):
    """The run was stopped; a multipart upload stays open to be resumed."""


class NotStored(ConveyorError):
    """S3 reports other bytes than were read: the new version is removed again."""


@dataclass(frozen=True)
class Sent:
    digests: Digests
    etag: str
    """The ETag S3 gave the new object (unquoted)."""
    resumed_parts: int = 0


@dataclass(frozen=True)
class OpenPart:
    size: int
    etag: str
    crc64nvme: str | None

    def holds(self, data: bytes, crc: str) -> bool:
        """True when this uploaded part holds these bytes: by its CRC64NVME where S3 lists one,
        else by its ETag (the part's MD5)."""
        if self.size != len(data):
            return False
        if self.crc64nvme is not None:
            return self.crc64nvme == crc
        return self.etag == md5_of(data).hex()


def content_type(path: str) -> str:
    return mimetypes.guess_type(path)[0] or "application/octet-stream"


def put_single(
    s3: Any, f: LocalFile, bucket: str, part_size: int, on_bytes: Callable[[int], None]
) -> Sent:
    with open(f.path, "rb") as fh:
        data = read_part(fh, f.size)
        if fh.read(1):
            raise ChangedWhileReading("it grew while it was read")
    unchanged(f)
    hasher = Hasher(f.size, part_size, md5=False)
    response = s3.put_object(
        Bucket=bucket,
        Key=f.key,
        Body=data,
        ChecksumAlgorithm="CRC64NVME",
        ChecksumCRC64NVME=hasher.part(data),  # S3 refuses the PUT if the bytes differ
        ContentType=content_type(f.path),
    )
    on_bytes(f.size)
    etag = normalize_etag(response["ETag"])
    return Sent(hasher.digests(etag), etag)


def send_multipart(
    s3: Any,
    f: LocalFile,
    bucket: str,
    part_size: int,
    *,
    pool: Executor,
    gate: threading.Semaphore,
    stop: threading.Event,
    resume: bool,
    on_bytes: Callable[[int], None],
) -> Sent:
    """`gate` bounds the parts held in memory across all files; `pool` sends them."""
    upload_id, open_parts = find_open_upload(s3, bucket, f, part_size) if resume else (None, {})
    if not resume:
        abort_open_uploads(s3, bucket, f.key)
    if upload_id is None:
        upload_id = s3.create_multipart_upload(
            Bucket=bucket,
            Key=f.key,
            ContentType=content_type(f.path),
            Metadata={PART_SIZE_METADATA: str(part_size)},
            **CHECKSUM,
        )["UploadId"]
    hasher = Hasher(f.size, part_size, md5=False)
    done: dict[int, dict[str, Any]] = {}
    futures: dict[int, Future[str]] = {}
    resumed = 0
    try:
        with open(f.path, "rb") as fh:
            for number, _, length in ranges(f.size, part_size):
                if stop.is_set():
                    raise Interrupted(f"stopped; run again to resume {f.key}")
                gate.acquire()
                try:
                    data = read_part(fh, length)
                except BaseException:
                    gate.release()
                    raise
                crc = hasher.part(data)
                done[number] = {"PartNumber": number, "ChecksumCRC64NVME": crc}
                old = open_parts.get(number)
                if old is not None and old.holds(data, crc):
                    gate.release()
                    done[number]["ETag"] = old.etag
                    resumed += 1
                    on_bytes(length)
                    continue
                future = pool.submit(_part, s3, bucket, f.key, upload_id, number, data, crc)
                future.add_done_callback(lambda fut, n=length: _part_done(fut, n, gate, on_bytes))
                futures[number] = future
            if fh.read(1):
                raise ChangedWhileReading("it grew while it was read")
        for number, future in futures.items():
            done[number]["ETag"] = future.result()
    except BaseException:
        for future in futures.values():
            future.cancel()
        wait(list(futures.values()))
        raise
    unchanged(f)
    response = s3.complete_multipart_upload(
        Bucket=bucket,
        Key=f.key,
        UploadId=upload_id,
        MultipartUpload={"Parts": [done[n] for n in sorted(done)]},
        ChecksumCRC64NVME=encode_crc(hasher.crc),
        ChecksumType="FULL_OBJECT",
    )
    digests = hasher.digests(normalize_etag(response["ETag"]))
    _verify(s3, bucket, f.key, response, digests)
    return Sent(digests, digests.etag, resumed)


def unchanged(f: LocalFile) -> None:
    """Refuse a file whose stat moved while it was read: what was read may be half of each."""
    if Stat.of(f.stat.path, os.stat(f.path)) != f.stat:
        raise ChangedWhileReading("it changed while it was read; run again once it is written")


def find_open_upload(
    s3: Any, bucket: str, f: LocalFile, part_size: int
) -> tuple[str | None, dict[int, OpenPart]]:
    """The newest open upload of this key made as this tool makes them, with its parts; parts that
    cannot belong to this file's layout rule it out."""
    candidates = [
        u
        for u in _open_uploads(s3, bucket, f.key)
        if u.get("ChecksumAlgorithm") == "CRC64NVME"
        and u.get("ChecksumType", "FULL_OBJECT") == "FULL_OBJECT"
    ]
    layout = {number: length for number, _, length in ranges(f.size, part_size)}
    for upload in sorted(candidates, key=lambda u: u["Initiated"], reverse=True):
        parts = _parts(s3, bucket, f.key, upload["UploadId"])
        if all(layout.get(n) == p.size for n, p in parts.items()):
            return upload["UploadId"], parts
    return None, {}


def abort_open_uploads(s3: Any, bucket: str, key: str) -> None:
    for upload in _open_uploads(s3, bucket, key):
        s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload["UploadId"])


def _open_uploads(s3: Any, bucket: str, key: str) -> list[dict[str, Any]]:
    found = []
    for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=bucket, Prefix=key):
        found += [u for u in page.get("Uploads", []) if u["Key"] == key]
    return found


def _parts(s3: Any, bucket: str, key: str, upload_id: str) -> dict[int, OpenPart]:
    parts = {}
    pages = s3.get_paginator("list_parts").paginate(Bucket=bucket, Key=key, UploadId=upload_id)
    for page in pages:
        for p in page.get("Parts", []):
            parts[int(p["PartNumber"])] = OpenPart(
                int(p["Size"]), normalize_etag(p["ETag"]), p.get("ChecksumCRC64NVME")
            )
    return parts


def _part(
    s3: Any, bucket: str, key: str, upload_id: str, number: int, data: bytes, crc: str
) -> str:
    response = s3.upload_part(
        Bucket=bucket,
        Key=key,
        UploadId=upload_id,
        PartNumber=number,
        Body=data,
        ChecksumCRC64NVME=crc,  # S3 refuses the part if the bytes differ
    )
    return response["ETag"]


def _part_done(
    future: Future[str], length: int, gate: threading.Semaphore, on_bytes: Callable[[int], None]
) -> None:
    gate.release()
    if not future.cancelled() and future.exception() is None:
        on_bytes(length)


def _verify(s3: Any, bucket: str, key: str, response: dict[str, Any], digests: Digests) -> None:
    """S3 checks the full-object checksum it was given; a server that does not (a local one) is
    asked what it stored, and a version holding other bytes is removed before a job reads it."""
    stored = response.get("ChecksumCRC64NVME")
    version = response.get("VersionId")
    version = None if version in NO_VERSION else version  # an unversioned bucket says "null"
    if stored is None:
        extra = {"VersionId": version} if version else {}
        head = head_or_none(s3, Bucket=bucket, Key=key, ChecksumMode="ENABLED", **extra)
        stored = head.get("ChecksumCRC64NVME") if head else None
    if stored is not None and stored != digests.crc64nvme:
        if version:
            s3.delete_object(Bucket=bucket, Key=key, VersionId=version)
        raise NotStored(
            f"staging stored CRC64NVME {stored} where the file read as {digests.crc64nvme}"
        )
