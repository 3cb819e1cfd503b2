"""Part layout, digests and ETags of `conveyor upload`: pure, no AWS."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from awscrt import checksums
from hypothesis import given
from hypothesis import strategies as st

from conveyor_cli.uploads.digest import ChangedWhileReading, Hasher, digest_file, encode_crc
from conveyor_cli.uploads.parts import (
    MAX_OBJECT_SIZE,
    MAX_PARTS,
    PART_SIZE,
    MiB,
    multipart_etag,
    part_size_for,
    ranges,
)


@given(st.integers(min_value=0, max_value=MAX_OBJECT_SIZE))
def test_every_size_up_to_5_tib_fits_in_10000_whole_mib_parts(size: int) -> None:
    part_size = part_size_for(size)
    assert part_size >= PART_SIZE and part_size % MiB == 0
    layout = list(ranges(size, part_size))
    assert len(layout) <= MAX_PARTS
    assert sum(length for _, _, length in layout) == size
    assert [n for n, _, _ in layout] == list(range(1, len(layout) + 1))


@given(st.binary(max_size=4000), st.integers(min_value=1, max_value=700))
def test_the_parts_crcs_combine_into_the_whole_files_crc(data: bytes, part_size: int) -> None:
    hasher = Hasher(len(data), part_size)
    for _, offset, length in ranges(len(data), part_size):
        hasher.part(data[offset : offset + length])
    digests = hasher.digests()
    assert digests.crc64nvme == encode_crc(checksums.crc64nvme(data))
    md5s = [hashlib.md5(data[o : o + n]).digest() for _, o, n in ranges(len(data), part_size)]
    expected = multipart_etag(md5s) if len(md5s) > 1 else hashlib.md5(data).hexdigest()
    assert digests.etag == expected


def test_multipart_etag_is_the_md5_of_the_part_md5s_and_their_count() -> None:
    parts = [b"a" * 10, b"b" * 10, b"c"]
    joined = b"".join(hashlib.md5(p).digest() for p in parts)
    assert multipart_etag([hashlib.md5(p).digest() for p in parts]) == (
        hashlib.md5(joined).hexdigest() + "-3"
    )


def test_digest_file_reads_parts_and_refuses_a_file_that_is_not_its_size(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 2500)
    digests = digest_file(str(path), 2500, 1000)
    assert digests.etag.endswith("-3") and digests.part_size == 1000
    with pytest.raises(ChangedWhileReading, match="ended 500 bytes early"):
        digest_file(str(path), 3000, 1000)
    with pytest.raises(ChangedWhileReading, match="grew"):
        digest_file(str(path), 2000, 1000)


def test_an_empty_file_has_the_etag_and_crc_s3_gives_it(tmp_path: Path) -> None:
    path = tmp_path / "empty"
    path.write_bytes(b"")
    digests = digest_file(str(path), 0, PART_SIZE)
    assert digests.etag == hashlib.md5(b"").hexdigest()
    assert digests.crc64nvme == "AAAAAAAAAAA="


def test_a_stopped_run_stops_hashing_between_parts(tmp_path: Path) -> None:
    import threading

    from conveyor_cli.uploads.digest import Stopped

    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 3000)
    stop = threading.Event()
    seen: list[int] = []

    def on_bytes(n: int) -> None:
        seen.append(n)
        stop.set()  # Ctrl-C while the first part is read

    with pytest.raises(Stopped):
        digest_file(str(path), 3000, 1000, on_bytes, stop)
    assert seen == [1000]
