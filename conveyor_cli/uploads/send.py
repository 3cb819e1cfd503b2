"""Looking at what staging and the archive hold, and sending what is missing."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from boto3.s3.transfer import TransferConfig

from conveyor.errors import ConveyorError
from conveyor.s3 import head_or_none
from conveyor_cli.uploads.plan import SHA256_METADATA, Digests, Remote

TRANSFER = TransferConfig(
    multipart_threshold=16 * 1024 * 1024,
    multipart_chunksize=16 * 1024 * 1024,
    max_concurrency=8,
)
"""Large files go up in 16 MiB parts, eight at a time."""


@dataclass
class FileResult:
    path: str
    key: str
    action: str
    """uploaded, skipped, failed; with --dry-run: would upload, skipped."""
    reason: str
    bytes: int = 0
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def files(paths: list[Path], key_prefix: str) -> list[tuple[Path, str]]:
    """Each file with its key: a file's name, or a folder's files by their path inside it.

    A prefix starting with `/` is refused before anything is read: `/abs/x` and `abs/x` are two
    keys that the archive and output buckets would then hold side by side.
    """
    if key_prefix.startswith("/"):
        raise ConveyorError(f"--key-prefix {key_prefix!r} starts with '/': keys never do")
    found: list[tuple[Path, str]] = []
    for path in paths:
        if path.is_dir() and path.resolve() == Path(path.anchor or "/").resolve():
            raise ConveyorError(
                f"{str(path)!r} is the whole filesystem (an unset variable before a '/'?): "
                "name the folder to upload"
            )
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*") if p.is_file())
            found += [(p, key_prefix + p.relative_to(path).as_posix()) for p in inside]
        else:
            found.append((path, key_prefix + path.name))
    return found


def remotes(s3: Any, buckets: dict[str, str], key: str) -> list[Remote]:
    """What staging and the archive hold under `key` (current versions)."""
    found = []
    for where, bucket in buckets.items():
        head = head_or_none(s3, Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        if head is None:
            continue
        crc = head.get("ChecksumCRC64NVME") if head.get("ChecksumType") != "COMPOSITE" else None
        found.append(
            Remote(
                where=where,
                size=int(head["ContentLength"]),
                sha256=head.get("Metadata", {}).get(SHA256_METADATA),
                crc64nvme=crc,
            )
        )
    return found


def send(
    s3: Any,
    path: Path,
    bucket: str,
    key: str,
    digests: Digests,
    on_bytes: Callable[[int], None] | None = None,
) -> float:
    """Upload with the SHA-256 in metadata and a full-object CRC64NVME; returns seconds taken."""
    started = time.monotonic()
    s3.upload_file(
        str(path),
        bucket,
        key,
        ExtraArgs={
            "Metadata": {SHA256_METADATA: digests.sha256},
            "ChecksumAlgorithm": "CRC64NVME",
        },
        Config=TRANSFER,
        Callback=on_bytes,
    )
    return time.monotonic() - started
