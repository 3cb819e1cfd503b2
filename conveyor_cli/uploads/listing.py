"""What a bucket holds under the keys of a run, from ListObjectsV2 pages of a thousand keys.

The run's keys, sorted, are cut into ranges of a thousand, and each range is listed on its own and
at once (`StartAfter` the key before it, stopping past its last key): the pages come in parallel,
and keys between two far-apart local keys are never listed. A range may still hold far more keys
than the run has there (a whole archive); its listing stops after its budget, and a key in the part
it did not reach is unknown, for a HEAD to decide.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from conveyor.objects import normalize_etag

PAGE = 1000
RANGE = 1000
"""Local keys per listed range."""


@dataclass(frozen=True, slots=True)
class Listed:
    size: int
    etag: str
    """Unquoted."""


class Unknown:
    """A key the listing did not reach: only a HEAD can say."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = Unknown()


@dataclass
class Listing:
    objects: dict[str, Listed] = field(default_factory=dict)
    gaps: list[tuple[str, str | None]] = field(default_factory=list)
    """Key intervals (after, up to and including; None: to the end) the listing did not reach."""

    def lookup(self, key: str) -> Listed | Unknown | None:
        for after, upto in self.gaps:
            if key > after and (upto is None or key <= upto):
                return UNKNOWN
        return self.objects.get(key)


def ranges(keys: Sequence[str], size: int = RANGE) -> list[tuple[str | None, str | None]]:
    """(start after, last key) of each range of `size` sorted keys; the last range is open."""
    keys = sorted(set(keys))
    bounds = []
    for i in range(0, len(keys), size):
        after = keys[i - 1] if i else None
        upto = keys[i + size - 1] if i + size < len(keys) else None
        bounds.append((after, upto))
    return bounds


def list_range(
    s3: Any, bucket: str, prefix: str, after: str | None, upto: str | None, budget: int
) -> Listing:
    """Objects with keys in (after, upto] under `prefix`, at most about `budget` of them."""
    listing = Listing()
    request: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": PAGE}
    if after is not None:
        request["StartAfter"] = after
    while True:
        page = s3.list_objects_v2(**request)
        contents = page.get("Contents", [])
        for item in contents:
            if upto is not None and item["Key"] > upto:
                return listing
            listing.objects[item["Key"]] = Listed(int(item["Size"]), normalize_etag(item["ETag"]))
        token = page.get("NextContinuationToken")
        if not page.get("IsTruncated") or not token:
            return listing
        if upto is not None and contents and contents[-1]["Key"] >= upto:
            return listing  # the range ends on this page: the next one is another range's
        if len(listing.objects) >= budget:
            listing.gaps.append((contents[-1]["Key"], upto))
            return listing
        request["ContinuationToken"] = token


def list_keys(
    s3: Any,
    bucket: str,
    prefix: str,
    keys: Sequence[str],
    budget_per_key: int,
    minimum: int,
    run: Callable[[Callable[..., Listing], list[tuple]], list[Listing]],
    size: int = RANGE,
) -> Listing:
    """Every range of `keys` listed through `run` (a map over a thread pool), merged."""
    bounds = ranges(keys, size)
    sorted_keys = sorted(set(keys))
    calls = []
    for after, upto in bounds:
        low = 0 if after is None else bisect.bisect_right(sorted_keys, after)
        high = len(sorted_keys) if upto is None else bisect.bisect_right(sorted_keys, upto)
        budget = budget_per_key * (high - low) + minimum
        calls.append((s3, bucket, prefix, after, upto, budget))
    merged = Listing()
    for part in run(list_range, calls):
        merged.objects.update(part.objects)
        merged.gaps += part.gaps
    return merged
