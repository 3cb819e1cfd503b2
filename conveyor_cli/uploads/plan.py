"""Whether a local file needs uploading: decided by content, never by size and mtime.

A copy in staging or the archive with the same content skips the file, with one exception: when
only the archive's copy matches and staging holds another upload of the key that still waits for
its job (the ledger says), the file is sent, or that other upload would be processed last and its
output would stand. Another upload that failed or was superseded in staging waits for nothing.

The cheapest evidence decides first. A listing alone decides a file staging and the archive do not
hold, or hold only at another size. Otherwise the file's digests (from the cache, else a read) are
compared with the listed ETags, which are predictable for what this tool uploaded. Only when no
ETag matches does a HEAD fetch S3's full-object CRC64NVME. An ETag that does not match is never
taken as proof of a difference: the object may have been uploaded with other parts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from conveyor_cli.uploads.digest import Digests
from conveyor_cli.uploads.listing import Listed


class Action(StrEnum):
    UPLOAD = "upload"
    SKIP = "skip"


class Via(StrEnum):
    """The evidence a decision used, in the order it was gathered."""

    LISTING = "listing"
    CACHE = "cache"
    HASH = "hash"
    HEAD = "HEAD"


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    where: str | None = None
    """The bucket whose copy matched, for a skip."""


@dataclass(frozen=True)
class Headed:
    """What a HEAD with checksum mode says of an object."""

    size: int
    etag: str
    crc64nvme: str | None
    """Only a FULL_OBJECT CRC64NVME: a composite one is not comparable."""


FORCED = Decision(Action.UPLOAD, "forced")


def by_listing(size: int, listed: Mapping[str, Listed | None]) -> Decision | None:
    """Upload when no bucket holds the key at this size; None when content must be compared."""
    held = [entry for entry in listed.values() if entry is not None]
    if not held:
        return Decision(Action.UPLOAD, "new")
    if all(entry.size != size for entry in held):
        return Decision(Action.UPLOAD, "content differs (size)")
    return None


def by_etag(
    digests: Digests, listed: Mapping[str, Listed | None], known: Iterable[str] = ()
) -> Decision | None:
    """Skip when a listed ETag is the one this content gets (or was proven to have)."""
    etags = {digests.etag, *known}
    for where, entry in listed.items():
        if entry is not None and entry.size == digests.size and entry.etag in etags:
            return Decision(Action.SKIP, f"same content already in {where}", where)
    return None


def by_head(digests: Digests, heads: Mapping[str, Headed | None]) -> Decision:
    """Decide by S3's full-object CRC64NVME of every object at this size."""
    compared = False
    for where, head in heads.items():
        if head is None or head.size != digests.size or head.crc64nvme is None:
            continue
        compared = True
        if head.crc64nvme == digests.crc64nvme:
            return Decision(Action.SKIP, f"same content already in {where}", where)
    if compared or all(h is None or h.size != digests.size for h in heads.values()):
        return Decision(Action.UPLOAD, "content differs")
    return Decision(Action.UPLOAD, "no checksum to compare with")


def proven_etags(digests: Digests, heads: Mapping[str, Headed | None]) -> set[str]:
    """ETags of objects whose full-object checksum matched: the cache remembers them."""
    return {
        h.etag
        for h in heads.values()
        if h is not None and h.size == digests.size and h.crc64nvme == digests.crc64nvme
    }


WAITING = frozenset({"", "SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING"})
"""Ledger statuses of a staging version that will still be processed ("": not recorded yet)."""


def other_upload_in_staging(decision: Decision, listed: Mapping[str, Listed | None]) -> bool:
    """A skip because the archive matches, while staging holds something else at the key."""
    return (
        decision.action is Action.SKIP
        and decision.where == "archive"
        and listed.get("staging") is not None
    )


def settle_with_staging(decision: Decision, status: str | None) -> Decision:
    """The archive's match stands unless the other upload in staging still waits (or no ledger
    can say: sending again is only extra work, skipping could leave the wrong output)."""
    if status is not None and status not in WAITING:
        return decision
    why = "waits for its job" if status is not None else "may still wait (no ledger to ask)"
    return Decision(
        Action.UPLOAD,
        f"the archive holds this content, but another upload of the key in staging {why}",
    )
