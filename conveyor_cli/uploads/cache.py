"""A local cache of content digests keyed by what `stat` says: an unchanged file is not read again.

It works the way git's index does. An entry is used only when path, device, inode, size, mtime and
ctime (all in nanoseconds) are what they were when the file was hashed: writing a file changes its
mtime and ctime, and setting the mtime back still changes the ctime. An entry whose mtime was within
`RACY_NS` of the moment it was hashed is "racy" (the file may have changed again within the same
timestamp tick, unseen) and is never trusted: the file is hashed again, and that later entry is.
A cache that is missing, from another version or unreadable is rebuilt, never trusted.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from conveyor_cli.uploads.digest import Digests

CACHE_DIR = "CONVEYOR_CACHE_DIR"
"""Where the cache lives; else $XDG_CACHE_HOME/conveyor, else ~/.cache/conveyor."""
FILE_NAME = "upload-digests.sqlite3"
SCHEMA_VERSION = 1
RACY_NS = 2_000_000_000
"""Two seconds: the coarsest timestamp tick of a common filesystem (FAT)."""
KNOWN_ETAGS = 8
"""ETags of remote objects proven (by full-object checksum) to hold a file's content, per file."""


@dataclass(frozen=True, slots=True)
class Stat:
    """What identifies one state of a file without reading it."""

    path: str
    dev: int
    ino: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, path: str, st: os.stat_result) -> Stat:
        return cls(path, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


@dataclass(frozen=True, slots=True)
class Cached:
    digests: Digests
    etags: frozenset[str]
    """ETags under which a HEAD proved S3 holds this content (an archive copy has its own)."""
    hashed_ns: int


def default_path() -> Path:
    root = os.environ.get(CACHE_DIR) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "conveyor"
    )
    return Path(root) / FILE_NAME


class DigestCache:
    """Thread-safe; writes are batched and committed by `flush` (and every `batch` entries)."""

    def __init__(self, path: Path, batch: int = 500) -> None:
        self.path = path
        self.batch = batch
        self.problem: str | None = None
        """Why an existing cache was thrown away, for the run's summary."""
        self._lock = threading.Lock()
        self._pending: dict[str, tuple] = {}
        self._loaded: dict[str, tuple] = {}
        self._prefetched: set[str] = set()
        self._db = self._open()

    def prefetch(self, paths: list[str]) -> None:
        """Read the entries of a run's files in one query rather than one query each."""
        paths = [p for p in paths if storable(p)]
        if self._db is None or not paths:
            return
        under = os.path.commonpath([os.path.dirname(p) for p in paths]).rstrip("/") + "/"
        try:
            rows = self._db.execute(
                "SELECT * FROM digests WHERE path >= ? AND path < ?", (under, under[:-1] + "0")
            ).fetchall()
        except sqlite3.Error:
            return
        wanted = set(paths)
        with self._lock:
            self._loaded.update((row[0], row) for row in rows if row[0] in wanted)
            self._prefetched |= wanted

    def get(self, stat: Stat) -> Cached | None:
        """The digests of this exact state of the file, or None (never a racy entry)."""
        if not storable(stat.path):
            return None
        with self._lock:
            row = self._pending.get(stat.path) or self._loaded.get(stat.path)
            if row is None and stat.path not in self._prefetched:
                row = self._select(stat.path)
        if row is None:
            return None
        try:
            return _trusted(row, stat)
        except (ValueError, TypeError, KeyError):
            return None  # a damaged row is a miss; the next put replaces it

    def put(self, stat: Stat, digests: Digests, hashed_ns: int, etags: Iterable[str] = ()) -> None:
        """Remember `digests` for `stat`, hashed at `hashed_ns` (taken before the read began)."""
        if not storable(stat.path):
            return  # SQLite takes text; a path that is not UTF-8 is hashed each run
        known = sorted(set(etags) - {digests.etag})[:KNOWN_ETAGS]
        row = (
            stat.path,
            stat.dev,
            stat.ino,
            stat.size,
            stat.mtime_ns,
            stat.ctime_ns,
            hashed_ns,
            digests.crc64nvme,
            digests.etag,
            digests.part_size,
            json.dumps(known),
        )
        with self._lock:
            self._pending[stat.path] = row
            if stat.path in self._prefetched:
                self._loaded[stat.path] = row
            full = len(self._pending) >= self.batch
        if full:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            rows, self._pending = list(self._pending.values()), {}
            if not rows or self._db is None:
                return
            try:
                with self._db:
                    self._db.executemany(
                        "INSERT OR REPLACE INTO digests VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows
                    )
            except sqlite3.Error as err:  # a full disk or a locked file costs speed, not truth
                self.problem = f"the digest cache could not be written: {err}"

    def close(self) -> None:
        self.flush()
        if self._db is not None:
            self._db.close()
            self._db = None

    def _select(self, path: str) -> tuple | None:
        if self._db is None:
            return None
        try:
            return self._db.execute("SELECT * FROM digests WHERE path = ?", (path,)).fetchone()
        except sqlite3.Error:
            return None

    def _open(self) -> sqlite3.Connection | None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            self.problem = f"no digest cache ({err}): every file is hashed"
            return None
        for attempt in range(2):
            try:
                db = sqlite3.connect(self.path, check_same_thread=False, timeout=10)
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version != SCHEMA_VERSION:
                    if version != 0 or _has_tables(db):
                        raise sqlite3.DatabaseError(f"schema version {version}")
                    _create(db)
                db.execute("SELECT count(*) FROM digests WHERE rowid = 1").fetchone()
                return db
            except sqlite3.Error as err:
                if attempt:
                    self.problem = f"no digest cache ({err}): every file is hashed"
                    return None
                self.problem = f"the digest cache was unreadable ({err}) and is rebuilt"
                _remove(self.path)
        return None


def _trusted(row: tuple, stat: Stat) -> Cached | None:
    (_, dev, ino, size, mtime_ns, ctime_ns, hashed_ns, crc, etag, part_size, known) = row
    if (dev, ino, size, mtime_ns, ctime_ns) != (
        stat.dev,
        stat.ino,
        stat.size,
        stat.mtime_ns,
        stat.ctime_ns,
    ):
        return None
    if mtime_ns >= hashed_ns - RACY_NS:
        return None
    if len(base64.b64decode(crc, validate=True)) != 8 or not isinstance(etag, str):
        raise ValueError("damaged row")
    etags = json.loads(known)
    if not isinstance(etags, list) or not all(isinstance(e, str) for e in etags):
        raise ValueError("damaged row")
    return Cached(Digests(size, crc, etag, int(part_size)), frozenset(etags), hashed_ns)


def storable(path: str) -> bool:
    """False for a path holding bytes that are not UTF-8 (Python keeps them as surrogates)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def now_ns() -> int:
    return time.time_ns()


def _has_tables(db: sqlite3.Connection) -> bool:
    return db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] > 0


def _create(db: sqlite3.Connection) -> None:
    with db:
        db.execute(
            "CREATE TABLE digests (path TEXT PRIMARY KEY, dev INTEGER, ino INTEGER, size INTEGER,"
            " mtime_ns INTEGER, ctime_ns INTEGER, hashed_ns INTEGER, crc64nvme TEXT, etag TEXT,"
            " part_size INTEGER, etags TEXT)"
        )
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _remove(path: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        with contextlib.suppress(OSError):  # absent, or not a file: opening it again says which
            os.unlink(f"{path}{suffix}")
