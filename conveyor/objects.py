"""The unit of work: one version of one S3 object, and how two versions of a key are ordered."""

from __future__ import annotations

from dataclasses import dataclass

NO_VERSION = ("", "null")
"""What S3 reports as the version id of an object in a bucket without versioning."""


@dataclass(frozen=True)
class ObjectVersion:
    """One uploaded version; `ref` identifies it in the ledger and in job parameters."""

    bucket: str
    key: str
    etag: str
    size: int
    version_id: str | None = None
    sequencer: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "etag", normalize_etag(self.etag))
        if self.version_id in NO_VERSION:
            object.__setattr__(self, "version_id", None)
        if self.sequencer == "":
            object.__setattr__(self, "sequencer", None)

    @property
    def ref(self) -> str:
        """The version id, or the ETag on a bucket without versioning (what the ledger keys on)."""
        return version_ref(self.version_id, self.etag)

    def pin(self) -> dict[str, str]:
        """Request parameters that address exactly this version (see `pin`)."""
        return pin(self.version_id, self.etag)

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def is_folder_marker(self) -> bool:
        """The console's "Create folder" makes `prefix/` objects of size 0: nothing to process."""
        return self.key.endswith("/") and self.size == 0


def pin(version_id: str | None, etag: str | None = None) -> dict[str, str]:
    """The one way every read, HEAD and delete names a version: its VersionId, or, in a bucket
    without versioning, If-Match on its ETag (other bytes under the key are refused); with
    neither, nothing: the key's current object."""
    if version_id and version_id not in NO_VERSION:
        return {"VersionId": version_id}
    if etag:
        return {"IfMatch": f'"{normalize_etag(etag)}"'}
    return {}


def version_ref(version_id: str | None, etag: str) -> str:
    """Versioned buckets key on the version id; without versioning the ETag is all there is."""
    if version_id and version_id not in NO_VERSION:
        return f"v#{version_id}"
    return f"e#{normalize_etag(etag)}"


def normalize_etag(etag: str) -> str:
    """S3 quotes ETags in headers but not in events; compare them unquoted."""
    return etag.strip().strip('"')


def compare_sequencers(a: str, b: str) -> int:
    """Order two events of the same key: -1, 0 or 1.

    S3 documents that sequencers of one key compare after right-padding the shorter with zeros;
    sequencers of different keys mean nothing relative to each other, so callers must not mix them.
    """
    if not a or not b:
        raise ValueError("both sequencers are needed to order two events")
    width = max(len(a), len(b))
    left, right = a.upper().ljust(width, "0"), b.upper().ljust(width, "0")
    return (left > right) - (left < right)
