"""Which upload an output came from, and whether ours may replace it: newest upload wins.

The output carries its source in its metadata. Two versions of one key are ordered by the S3
event sequencer when both jobs had one, else by the versions' LastModified (S3's own order);
a tie keeps what is there.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote, unquote

from conveyor.objects import compare_sequencers

PREFIX = "conveyor-"
METADATA_LIMIT = 2048
"""S3 allows 2 KB of user metadata; a long key is then recorded by its digest only."""


@dataclass(frozen=True)
class Provenance:
    bucket: str
    key: str
    version_id: str | None
    etag: str
    sequencer: str | None
    last_modified: str
    """ISO 8601 UTC with milliseconds, as S3 reported it for the version."""
    transform: str = ""
    job_id: str = ""
    key_digest: str = ""
    """Identifies the source key when the key itself did not fit in the metadata."""

    def __post_init__(self) -> None:
        if self.key and not self.key_digest:
            digest = hashlib.sha256(self.key.encode()).hexdigest()[:32]
            object.__setattr__(self, "key_digest", digest)

    def metadata(self) -> dict[str, str]:
        fields = {
            "source-bucket": self.bucket,
            "source-key-sha256": self.key_digest,
            "source-version-id": self.version_id or "",
            "source-etag": self.etag,
            "source-sequencer": self.sequencer or "",
            "source-last-modified": self.last_modified,
            "transform": self.transform,
            "job-id": self.job_id,
        }
        meta = {PREFIX + k: v for k, v in fields.items() if v}
        encoded_key = quote(self.key, safe="/")
        used = sum(len(k) + len(v) for k, v in meta.items())
        if used + len(PREFIX + "source-key") + len(encoded_key) <= METADATA_LIMIT:
            meta[PREFIX + "source-key"] = encoded_key
        return meta

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, str]) -> Provenance | None:
        """None for an object Conveyor did not write."""
        meta = {k.lower().removeprefix(PREFIX): v for k, v in metadata.items()}
        if "source-etag" not in meta or "source-last-modified" not in meta:
            return None
        return cls(
            bucket=meta.get("source-bucket", ""),
            key=unquote(meta.get("source-key", "")),
            version_id=meta.get("source-version-id") or None,
            etag=meta["source-etag"],
            sequencer=meta.get("source-sequencer") or None,
            last_modified=meta["source-last-modified"],
            transform=meta.get("transform", ""),
            job_id=meta.get("job-id", ""),
            key_digest=meta.get("source-key-sha256", ""),
        )

    def same_object(self, other: Provenance) -> bool:
        return self.bucket == other.bucket and self.key_digest == other.key_digest

    def same_version(self, other: Provenance) -> bool:
        if not self.same_object(other):
            return False
        if self.version_id and other.version_id:
            return self.version_id == other.version_id
        return self.etag == other.etag and self.last_modified == other.last_modified

    def newer_than(self, other: Provenance) -> bool:
        if self.same_object(other) and self.sequencer and other.sequencer:
            return compare_sequencers(self.sequencer, other.sequencer) > 0
        return self.last_modified > other.last_modified


class Decision(StrEnum):
    WRITE = "write"
    ALREADY_WRITTEN = "already written"
    """A previous run of this very version completed the output: do not transform again."""
    SUPERSEDED = "superseded"
    """A newer upload of the key exists or already owns the output."""


def decide(ours: Provenance, existing: Provenance | None, newer_in_staging: bool) -> Decision:
    if existing is not None and existing.same_version(ours):
        return Decision.ALREADY_WRITTEN
    if newer_in_staging:
        return Decision.SUPERSEDED
    if existing is not None and existing.newer_than(ours):
        return Decision.SUPERSEDED
    return Decision.WRITE
