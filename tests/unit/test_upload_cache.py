"""The digest cache: used only for the exact state hashed, never racy, rebuilt when damaged."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from conveyor_cli.uploads.cache import RACY_NS, DigestCache, Stat
from conveyor_cli.uploads.digest import Digests

DIGESTS = Digests(size=5, crc64nvme="AAAAAAAAAAE=", etag="e", part_size=16)
HOUR = 3600 * 10**9


def old_file(path: Path, content: bytes = b"hello") -> Stat:
    path.write_bytes(content)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - HOUR))
    return Stat.of(str(path), path.stat())


def test_an_entry_serves_exactly_the_state_it_was_hashed_in(tmp_path: Path) -> None:
    cache = DigestCache(tmp_path / "c.sqlite3")
    stat = old_file(tmp_path / "f")
    cache.put(stat, DIGESTS, stat.mtime_ns + HOUR, etags={"archive-etag"})
    cache.close()
    again = DigestCache(tmp_path / "c.sqlite3")  # persisted
    hit = again.get(stat)
    assert hit is not None and hit.digests == DIGESTS and hit.etags == {"archive-etag"}
    for changed in (
        Stat(stat.path, stat.dev, stat.ino, 6, stat.mtime_ns, stat.ctime_ns),
        Stat(stat.path, stat.dev, stat.ino, 5, stat.mtime_ns + 1, stat.ctime_ns),
        Stat(stat.path, stat.dev, stat.ino, 5, stat.mtime_ns, stat.ctime_ns + 1),  # utime back
        Stat(stat.path, stat.dev, stat.ino + 1, 5, stat.mtime_ns, stat.ctime_ns),  # replaced
        Stat(stat.path + "x", stat.dev, stat.ino, 5, stat.mtime_ns, stat.ctime_ns),
    ):
        assert again.get(changed) is None


def test_an_entry_hashed_within_a_tick_of_its_mtime_is_racy_and_not_trusted(
    tmp_path: Path,
) -> None:
    cache = DigestCache(tmp_path / "c.sqlite3")
    stat = old_file(tmp_path / "f")
    cache.put(stat, DIGESTS, stat.mtime_ns + RACY_NS)  # a write in the same tick goes unseen
    assert cache.get(stat) is None
    cache.put(stat, DIGESTS, stat.mtime_ns + RACY_NS + 1)  # hashed again, later: trusted
    assert cache.get(stat) is not None


def test_a_corrupt_cache_is_rebuilt_never_trusted(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    cache = DigestCache(path)
    assert cache.problem is not None and "rebuilt" in cache.problem
    stat = old_file(tmp_path / "f")
    assert cache.get(stat) is None
    cache.put(stat, DIGESTS, stat.mtime_ns + HOUR)
    cache.close()
    assert DigestCache(path).get(stat) is not None


def test_a_damaged_row_or_another_schema_is_a_miss(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    cache = DigestCache(path)
    stat = old_file(tmp_path / "f")
    cache.put(stat, DIGESTS, stat.mtime_ns + HOUR)
    cache.close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE digests SET crc64nvme = 'not base64!'")
    assert DigestCache(path).get(stat) is None
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    other = DigestCache(path)
    assert other.problem is not None and other.get(stat) is None


def test_a_cache_that_cannot_be_made_costs_speed_not_truth(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    cache = DigestCache(tmp_path / "file" / "c.sqlite3")  # its folder is a file
    assert cache.problem is not None and "every file is hashed" in cache.problem
    stat = old_file(tmp_path / "f")
    cache.put(stat, DIGESTS, stat.mtime_ns + HOUR)
    cache.close()


def test_prefetched_entries_are_the_ones_get_would_read(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    stats = [old_file(tmp_path / "a"), old_file(tmp_path / "sub" / "b")]
    cache = DigestCache(tmp_path / "c.sqlite3")
    for stat in stats:
        cache.put(stat, DIGESTS, stat.mtime_ns + HOUR)
    cache.close()
    for wanted in ([stats[0]], [stats[1]], stats):
        again = DigestCache(tmp_path / "c.sqlite3")
        again.prefetch([s.path for s in wanted])
        assert all(again.get(s) is not None for s in stats)


def test_a_path_that_is_not_utf8_is_never_cached_and_never_crashes(tmp_path: Path) -> None:
    folder = tmp_path / os.fsdecode(b"caf\xe9")  # Python holds the byte as a lone surrogate
    folder.mkdir()
    stat = old_file(folder / "clip.mov")
    cache = DigestCache(tmp_path / "c.sqlite3")
    cache.prefetch([stat.path])
    cache.put(stat, DIGESTS, stat.mtime_ns + HOUR)
    assert cache.get(stat) is None  # hashed again each run: a miss, not a traceback
    cache.close()
