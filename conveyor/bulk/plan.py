"""Pure decisions of a bulk resubmission: when to go bulk, which versions share an array, the
claim tokens that name a bulk and an index, and how claimed indexes close up."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

from conveyor.jobs import ARRAY_SIZE_MAX, ARRAY_SIZE_MIN

DEFAULT_THRESHOLD = 50
"""Above this many versions a command goes bulk: one second of SubmitJob's quota (50 a second)."""
TOKEN_PREFIX = "bulk:"
_TOKEN = re.compile(r"^bulk:([A-Za-z0-9][A-Za-z0-9_-]*):(\d+)$")

T = TypeVar("T")


def goes_bulk(count: int, threshold: int) -> bool:
    """Whether `count` versions go as array jobs rather than one SubmitJob each."""
    return count > threshold and count >= ARRAY_SIZE_MIN


def new_bulk_id(now: datetime, entropy: bytes | None = None) -> str:
    """Readable and unique: when, and 8 random hex digits (`20260102T030405Z-1a2b3c4d`)."""
    tail = (entropy if entropy is not None else os.urandom(4)).hex()
    return f"{now.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}-{tail}"


def claim_token(bulk_id: str, index: int) -> str:
    """What a bulk writes into each version's claim: which array, which child."""
    return f"{TOKEN_PREFIX}{bulk_id}:{index}"


def parse_token(token: object) -> tuple[str, int] | None:
    """(bulk id, index) of a bulk's claim token; None for any other claim (the trigger's)."""
    match = _TOKEN.match(token) if isinstance(token, str) else None
    return (match.group(1), int(match.group(2))) if match else None


@dataclass(frozen=True)
class Group(Generic[T]):
    """Versions that can share one array job: the same job queue and job definition."""

    job_queue: str
    job_definition: str
    members: tuple[T, ...]


def plan_arrays(
    members: Iterable[tuple[T, str, str]], max_size: int = ARRAY_SIZE_MAX
) -> tuple[list[Group[T]], list[T]]:
    """Arrays of at most `max_size` per (queue, definition), in first-seen order, and the
    members left alone (an array needs at least two): `(member, queue, definition)` in."""
    if max_size < ARRAY_SIZE_MIN:
        raise ValueError(f"an array holds at least {ARRAY_SIZE_MIN}")
    by_target: dict[tuple[str, str], list[T]] = {}
    for member, queue, definition in members:
        by_target.setdefault((queue, definition), []).append(member)
    arrays: list[Group[T]] = []
    alone: list[T] = []
    for (queue, definition), found in by_target.items():
        for start in range(0, len(found), max_size):
            chunk = tuple(found[start : start + max_size])
            if len(chunk) >= ARRAY_SIZE_MIN:
                arrays.append(Group(queue, definition, chunk))
            else:
                alone += chunk
    return arrays, alone


def close_up(claimed: Sequence[bool]) -> list[tuple[int, int]]:
    """Moves `(from, to)` that make the claimed indexes exactly 0..n-1: the last claimed ones
    fill the holes the refused ones left, so only as many claims change as were refused."""
    holes = [i for i, ok in enumerate(claimed) if not ok]
    count = sum(claimed)
    lows = [i for i in holes if i < count]
    highs = [i for i in range(len(claimed) - 1, count - 1, -1) if claimed[i]]
    return list(zip(highs, lows, strict=True))


def common_prefix(keys: Iterable[str]) -> str:
    """The longest prefix every key shares: one listing of staging covers them all."""
    return os.path.commonprefix(list(keys))  # noqa: RUF071  (characters: S3 keys, not paths)
