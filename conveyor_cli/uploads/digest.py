"""The digests that identify a file's content: S3's full-object CRC64NVME and our upload's ETag.

Both come from one read, part by part: the CRC of each part is what UploadPart carries, the parts'
CRCs combine into the full-object CRC64NVME that S3 keeps, and the parts' MD5s make the ETag.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from awscrt import checksums

from conveyor.errors import ConveyorError
from conveyor_cli.uploads.parts import multipart_etag, ranges


class Stopped(ConveyorError):
    """The run was stopped (Ctrl-C) while this file was read."""


class ChangedWhileReading(ConveyorError):
    """The file changed while it was read: its digests would describe no state of it."""


@dataclass(frozen=True, slots=True)
class Digests:
    size: int
    crc64nvme: str
    """Base64 of the big-endian CRC, as S3 reports ChecksumCRC64NVME."""
    etag: str
    """The ETag S3 gives this content uploaded by `conveyor upload` in `part_size` parts."""
    part_size: int


def encode_crc(crc: int) -> str:
    return base64.b64encode(crc.to_bytes(8, "big")).decode()


class Hasher:
    """Digests of a file fed to it part after part, in order.

    The parts' MD5s are only needed to predict the ETag of content not yet uploaded; a file being
    sent skips them (`md5=False`) and takes the ETag S3 answers.
    """

    def __init__(self, size: int, part_size: int, *, md5: bool = True) -> None:
        self.size = size
        self.part_size = part_size
        self.md5 = md5
        self.crc = 0
        self.fed = 0
        self.md5s: list[bytes] = []

    def part(self, data: bytes) -> str:
        """Take the next part; returns its CRC64NVME (base64), as UploadPart sends it."""
        crc = checksums.crc64nvme(data)
        self.crc = checksums.combine_crc64nvme(self.crc, crc, len(data)) if self.fed else crc
        self.fed += len(data)
        if self.md5:
            self.md5s.append(md5_of(data))
        return encode_crc(crc)

    def digests(self, etag: str | None = None) -> Digests:
        """The digests; `etag` is what S3 gave the upload of these bytes (else predicted)."""
        if self.fed != self.size:
            raise ChangedWhileReading(f"read {self.fed} bytes where its size said {self.size}")
        if etag is None:
            if not self.md5:
                raise ValueError("no ETag given and no MD5s to predict it from")
            if len(self.md5s) > 1:
                etag = multipart_etag(self.md5s)
            else:
                etag = (self.md5s[0] if self.md5s else md5_of(b"")).hex()
        return Digests(self.size, encode_crc(self.crc), etag, self.part_size)


def md5_of(data: bytes) -> bytes:
    return hashlib.md5(data, usedforsecurity=False).digest()


def read_part(f: BinaryIO, length: int) -> bytes:
    """Exactly `length` bytes; a file that shrank since its stat is refused."""
    data = f.read(length)
    if len(data) != length:
        raise ChangedWhileReading(f"it ended {length - len(data)} bytes early")
    return data


def digest_file(
    path: str,
    size: int,
    part_size: int,
    on_bytes: Callable[[int], None] | None = None,
    stop: threading.Event | None = None,
) -> Digests:
    """Read the file once, a part at a time (memory stays one part); `stop` ends it between
    parts (Ctrl-C must not wait for the rest of a 100 GB file)."""
    hasher = Hasher(size, part_size)
    with open(path, "rb") as f:
        for _, _, length in ranges(size, part_size):
            if stop is not None and stop.is_set():
                raise Stopped("stopped while hashing")
            hasher.part(read_part(f, length))
            if on_bytes:
                on_bytes(length)
        if f.read(1):
            raise ChangedWhileReading("it grew while it was read")
    return hasher.digests()
