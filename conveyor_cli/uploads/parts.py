"""How `conveyor upload` cuts a file into parts, and the ETag S3 gives the result.

The part size is a function of the file's size alone, so the ETag of an object this tool uploaded is
predictable from the content: the MD5 of a single PUT, or the MD5 of the parts' MD5s and their count
for a multipart upload. A listing's ETag can then decide a file without a HEAD.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence

MiB = 1024 * 1024
PART_SIZE = 16 * MiB
"""Parts of 16 MiB; files up to this size go up in a single PUT."""
MIN_PART_SIZE = 5 * MiB
"""S3 refuses smaller parts, the last excepted."""
MAX_PARTS = 10_000
MAX_OBJECT_SIZE = 5 * 1024**4
"""S3's largest object: 5 TiB."""


def part_size_for(size: int, chunk: int = PART_SIZE) -> int:
    """`chunk`, or the smallest whole number of MiB that fits `size` in 10,000 parts."""
    needed = -(-size // MAX_PARTS)
    return max(chunk, -(-needed // MiB) * MiB)


def multipart(size: int, part_size: int) -> bool:
    """Files larger than one part go up as a multipart upload."""
    return size > part_size


def ranges(size: int, part_size: int) -> Iterator[tuple[int, int, int]]:
    """(part number, offset, length) of each part, numbered from 1."""
    for number, offset in enumerate(range(0, size, part_size), start=1):
        yield number, offset, min(part_size, size - offset)


def multipart_etag(part_md5s: Sequence[bytes]) -> str:
    """The ETag S3 gives a multipart upload with these parts (unquoted)."""
    joined = hashlib.md5(b"".join(part_md5s), usedforsecurity=False).hexdigest()
    return f"{joined}-{len(part_md5s)}"
