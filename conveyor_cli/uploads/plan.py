"""Whether a local file needs uploading: compared by content, never by size and mtime.

The remote side is whatever staging and the archive hold under the key. Content is compared by a
full-object CRC64NVME where S3 keeps one, else by the SHA-256 that `conveyor upload` records in the
object's metadata; a multipart ETag is never guessed at.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

SHA256_METADATA = "conveyor-sha256"
"""User metadata holding the hex SHA-256 of the whole object, written at upload."""


class Action(StrEnum):
    UPLOAD = "upload"
    SKIP = "skip"


@dataclass(frozen=True)
class Digests:
    sha256: str
    crc64nvme: str | None
    """Base64, as S3 reports ChecksumCRC64NVME."""
    size: int


@dataclass(frozen=True)
class Remote:
    where: str
    """"staging" or "archive"."""
    size: int
    sha256: str | None
    crc64nvme: str | None
    """Only a FULL_OBJECT CRC64NVME: a composite one is not comparable."""


def plan(local: Digests, remotes: Sequence[Remote], *, force: bool = False) -> tuple[Action, str]:
    if force:
        return Action.UPLOAD, "forced"
    if not remotes:
        return Action.UPLOAD, "new"
    compared = False
    for remote in remotes:
        same = _same(local, remote)
        if same is None:
            continue
        compared = True
        if same:
            return Action.SKIP, f"same content already in {remote.where}"
    if compared:
        return Action.UPLOAD, "content differs"
    return Action.UPLOAD, "no checksum to compare with"


def _same(local: Digests, remote: Remote) -> bool | None:
    if remote.size != local.size:
        return False
    if remote.crc64nvme and local.crc64nvme:
        return remote.crc64nvme == local.crc64nvme
    if remote.sha256:
        return remote.sha256 == local.sha256
    return None
