"""A ledger entry as its readers see it: one object version, its job, and what became of it.

The ledger stores an item per version (see `transitions` for how it changes); readers get an
`Entry` with typed fields instead of guessing at dict keys. It still reads as a mapping of the
stored item, which is what the conditional writes and the pure transitions work on.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from conveyor.jobs import JobSpec
from conveyor.status import Status


@dataclass(frozen=True)
class Location:
    """Where an output or an archive copy is."""

    bucket: str
    key: str
    version_id: str | None = None

    @classmethod
    def of(cls, fact: Any) -> Location | None:
        if not isinstance(fact, Mapping) or not fact.get("bucket"):
            return None
        return cls(str(fact["bucket"]), str(fact.get("key", "")), fact.get("version_id") or None)


class Entry(Mapping[str, Any]):
    """One version as the ledger knows it (read-only)."""

    def __init__(self, item: Mapping[str, Any]) -> None:
        self._item = dict(item)

    # --- the stored item, for writes and transitions ------------------------------------------

    def __getitem__(self, name: str) -> Any:
        return self._item[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._item)

    def __len__(self) -> int:
        return len(self._item)

    def __repr__(self) -> str:
        return f"Entry({self.bucket}/{self.key} {self.version_id or self.etag}: {self.status})"

    # --- the version ----------------------------------------------------------------------------

    @property
    def bucket(self) -> str:
        return str(self._item["bucket"])

    @property
    def key(self) -> str:
        return str(self._item["object_key"])

    @property
    def version_id(self) -> str | None:
        return self._item.get("version_id") or None

    @property
    def etag(self) -> str:
        return str(self._item.get("etag", ""))

    # --- its job --------------------------------------------------------------------------------

    @property
    def status(self) -> Status | None:
        """None while the version is only claimed (its job being submitted)."""
        status = self._item.get("status")
        return Status(status) if status else None

    @property
    def job_id(self) -> str | None:
        return self._item.get("job_id") or None

    @property
    def spec(self) -> JobSpec:
        """The spec of the entry's last job: every job parameter is kept under its own name
        (the key as `object_key`), so a resubmission is the same job again."""
        return spec_of(self._item)

    @property
    def reason(self) -> str:
        """Batch's reason for the last state (the worker's own error is `error`)."""
        return str(self._item.get("status_reason") or "")

    @property
    def error(self) -> str:
        return str(self._item.get("error") or "")

    @property
    def output(self) -> Location | None:
        return Location.of(self._item.get("output"))

    @property
    def archive(self) -> Location | None:
        return Location.of(self._item.get("archive"))

    @property
    def updated_at(self) -> str:
        return str(self._item.get("updated_at") or self._item.get("created_at") or "")


def spec_of(item: Mapping[str, Any]) -> JobSpec:
    """The job spec a stored item (or an `Entry`) keeps."""
    return JobSpec.from_parameters({**item, "key": item["object_key"]})
