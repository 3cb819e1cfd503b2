"""Hashing a local file once for both checksums, with progress."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from pathlib import Path

from conveyor_cli.uploads.plan import Digests

BLOCK = 8 * 1024 * 1024


def digests(path: Path, on_bytes: Callable[[int], None] | None = None) -> Digests:
    sha = hashlib.sha256()
    crc = 0
    try:
        from awscrt import checksums
    except ImportError:  # pragma: no cover - awscrt is a dependency; SHA-256 still works
        checksums = None
    size = 0
    with path.open("rb") as f:
        while block := f.read(BLOCK):
            sha.update(block)
            if checksums is not None:
                crc = checksums.crc64nvme(block, crc)
            size += len(block)
            if on_bytes:
                on_bytes(len(block))
    encoded = base64.b64encode(crc.to_bytes(8, "big")).decode() if checksums is not None else None
    return Digests(sha256=sha.hexdigest(), crc64nvme=encoded, size=size)
