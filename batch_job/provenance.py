"""Which upload an output came from, and whether ours may replace it: newest upload wins.

The output carries its source in its metadata. Two versions of one key are ordered by the S3
event sequencer when both jobs had one, else by the bucket's own order: a job writes only while its
version is the newest in staging, and it records the versions that were older than it there
(`older_versions`). A version still in staging that the output's writer did not list as older was
uploaded after that writer decided, so it is newer. Only outputs written before that record existed
fall back to LastModified, and a tie there keeps what is written: an older version never wins.
An output whose provenance names another source key is never replaced (that is a naming clash).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote, unquote

from conveyor.metadata import PREFIX
from conveyor.objects import compare_sequencers

METADATA_LIMIT = 2048
"""S3 allows 2 KB of user metadata; a long key is then recorded by its digest only."""
NONE_OLDER = "-"
"""`source-older-versions` when staging held no older version (S3 drops empty metadata values)."""


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
    older_versions: frozenset[str] | None = None
    """Versions of the key older than this one in staging when its job decided to write; None
    when unknown (written by an earlier Conveyor, or too many to fit in the metadata)."""

    def __post_init__(self) -> None:
        if self.key and not self.key_digest:
            digest = hashlib.sha256(self.key.encode()).hexdigest()[:32]
            object.__setattr__(self, "key_digest", digest)

    @property
    def described(self) -> str:
        """The source for a person: its URI, or its key's digest when the key did not fit."""
        if self.key:
            return f"s3://{self.bucket}/{self.key}"
        return f"s3://{self.bucket}/<key with SHA-256 {self.key_digest}…>"

    def metadata(self, reserve: int = 0) -> dict[str, str]:
        """As S3 user metadata; the older versions, then the key, only if they fit in 2 KB less
        `reserve` (what the caller adds, such as a tree's run names)."""
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
        optional = {"source-key": quote(self.key, safe="/")}
        if self.older_versions is not None:
            optional = {
                "source-older-versions": ",".join(sorted(self.older_versions)) or NONE_OLDER,
                **optional,
            }
        for name, value in optional.items():
            used = sum(len(k) + len(v) for k, v in meta.items())
            if used + len(PREFIX + name) + len(value) <= METADATA_LIMIT - reserve:
                meta[PREFIX + name] = value
        return meta

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, str]) -> Provenance | None:
        """None for an object Conveyor did not write."""
        meta = {k.lower().removeprefix(PREFIX): v for k, v in metadata.items()}
        if "source-etag" not in meta or "source-last-modified" not in meta:
            return None
        older = meta.get("source-older-versions")
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
            older_versions=(
                None
                if older is None
                else frozenset(v for v in older.split(",") if v and v != NONE_OLDER)
            ),
        )

    def same_object(self, other: Provenance) -> bool:
        return self.bucket == other.bucket and self.key_digest == other.key_digest

    def same_version(self, other: Provenance) -> bool:
        if not self.same_object(other):
            return False
        if self.version_id and other.version_id:
            return self.version_id == other.version_id
        return self.etag == other.etag and self.last_modified == other.last_modified


def supersedes(ours: Provenance, written: Provenance) -> bool:
    """Whether `ours`, a version still in staging, is newer than the version that `written` (an
    output's provenance, of the same key) came from."""
    if ours.sequencer and written.sequencer:
        return compare_sequencers(ours.sequencer, written.sequencer) > 0
    if not ours.version_id:
        return True  # without versioning staging holds one version, the newest: ours
    if written.older_versions is not None:
        # The writer was the newest in staging when it decided, and ours was there (it still is)
        # exactly when ours is older; if ours was not there, it came later.
        return ours.version_id not in written.older_versions
    return ours.last_modified > written.last_modified


class Decision(StrEnum):
    WRITE = "write"
    ALREADY_WRITTEN = "already written"
    """A previous run of this very version completed the output: do not transform again."""
    SUPERSEDED = "superseded"
    """A newer upload of the key exists or already owns the output."""
    CLASH = "clash"
    """The output holds another source key's result: two keys map to one output name."""


def decide(ours: Provenance, existing: Provenance | None, newer_in_staging: bool) -> Decision:
    if existing is not None and not existing.same_object(ours):
        return Decision.CLASH
    if existing is not None and existing.same_version(ours):
        return Decision.ALREADY_WRITTEN
    if newer_in_staging:
        return Decision.SUPERSEDED
    if existing is not None and not supersedes(ours, existing):
        return Decision.SUPERSEDED
    return Decision.WRITE


def clash_reason(output: str, ours: Provenance, existing: Provenance) -> str:
    """Why the job refuses to write: both keys, so the operator can rename one or fix a route."""
    return (
        f"output {output} already holds the result of {existing.described}; "
        f"{ours.described} maps to the same output name and will not replace it "
        "(rename one of them, or give the route an output_key template that keeps them apart)"
    )
