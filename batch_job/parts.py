"""Multipart part sizes: small for flat memory, large enough for 10,000 parts to hold 5 TB."""

from __future__ import annotations

MiB = 1024 * 1024
MIN_PART_SIZE = 5 * MiB
"""The minimum S3 allows for every part but the last."""
DEFAULT_PART_SIZE = 8 * MiB
"""Small inputs still upload in parts this large: fewer requests, still little memory."""
MAX_PARTS = 10_000
"""The most parts S3 accepts in one upload."""
PLANNED_PARTS = 9_000
"""Parts the expected size is spread over; later parts grow, for outputs larger than planned."""
GROWTH_STEP = 250
"""Beyond the planned parts, the part size doubles every this many parts."""
MEMORY_BUDGET = 128 * MiB
"""Bytes of parts in flight at once, when parts are small enough to allow several."""
MAX_IN_FLIGHT = 4


def base_part_size(expected_bytes: int, minimum: int = DEFAULT_PART_SIZE) -> int:
    """The size of the first 9,000 parts for an output of about `expected_bytes`."""
    needed = -(-max(expected_bytes, 0) // PLANNED_PARTS)
    size = max(minimum, MIN_PART_SIZE, needed)
    return -(-size // MiB) * MiB


def part_size(part_number: int, base: int) -> int:
    """Size of part `part_number` (from 1): the base, then doubling in steps past the plan."""
    if part_number <= PLANNED_PARTS:
        return base
    return base * 2 ** ((part_number - PLANNED_PARTS - 1) // GROWTH_STEP + 1)


def capacity(base: int) -> int:
    """The largest output 10,000 parts of this plan can hold."""
    return sum(part_size(n, base) for n in range(1, MAX_PARTS + 1))


def parts_in_flight(base: int) -> int:
    """At least two parts overlap (one filling, one sending); more while memory allows."""
    return max(2, min(MAX_IN_FLIGHT, MEMORY_BUDGET // base))
