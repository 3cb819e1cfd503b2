"""Which versions staging still holds, from one listing (ListObjectVersions by prefix, 1,000 a
page) instead of one HEAD per version: what `conveyor.s3.holds_version` answers, in bulk."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from conveyor.objects import NO_VERSION, normalize_etag


@dataclass(frozen=True)
class Listed:
    key: str
    version_id: str | None
    etag: str
    size: int
    latest: bool


@dataclass
class Staging:
    """Staging's versions under one prefix, by key."""

    by_key: dict[str, list[Listed]] = field(default_factory=dict)

    def holds(self, key: str, version_id: str | None, etag: str) -> bool:
        """Exactly that version (by its id), or, for a version known only by its ETag (a
        bucket without versioning), the key's current object with that ETag."""
        versions = self.by_key.get(key, [])
        if version_id and version_id not in NO_VERSION:
            return any(v.version_id == version_id for v in versions)
        wanted = normalize_etag(etag)
        return any(v.latest and v.etag == wanted for v in versions)

    def with_etag(self, key: str, etag: str) -> list[Listed]:
        """The key's versions holding bytes with that ETag, newest first."""
        wanted = normalize_etag(etag)
        return [v for v in self.by_key.get(key, []) if v.etag == wanted]


def list_staging(
    s3: Any, bucket: str, prefix: str, on_page: Callable[[int], None] | None = None
) -> Staging:
    """Every version under `prefix` (delete markers are no versions); `on_page(n)` after each
    page, for a progress bar."""
    found = Staging()
    pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix)
    for page in pages:
        versions = page.get("Versions", [])
        for v in versions:
            version_id = v.get("VersionId")
            found.by_key.setdefault(v["Key"], []).append(
                Listed(
                    key=v["Key"],
                    version_id=None if version_id in NO_VERSION else version_id,
                    etag=normalize_etag(v["ETag"]),
                    size=int(v.get("Size", 0)),
                    latest=bool(v.get("IsLatest")),
                )
            )
        if on_page is not None:
            on_page(len(versions))
    return found
