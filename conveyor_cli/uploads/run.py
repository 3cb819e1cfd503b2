"""One `conveyor upload` run: list once, decide each file by the cheapest evidence, send at once.

The main thread lists staging and the archive, then decides every file that the listings and the
digest cache can decide without touching it (an unchanged folder is decided here, with no reads and
no requests per file). The rest go to a bounded pool: hash if needed, HEAD if needed, send. Large
files' parts go to a second pool, and a semaphore bounds the parts held in memory across all files,
so memory stays flat in the number and the size of the files.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, Protocol

from conveyor.s3 import head_or_none
from conveyor_cli.uploads.cache import Cached, DigestCache, now_ns
from conveyor_cli.uploads.digest import digest_file
from conveyor_cli.uploads.listing import Listed, Listing, Unknown, list_keys
from conveyor_cli.uploads.parts import PART_SIZE, multipart, part_size_for
from conveyor_cli.uploads.plan import (
    FORCED,
    Action,
    Decision,
    Headed,
    Via,
    by_etag,
    by_head,
    by_listing,
    other_upload_in_staging,
    proven_etags,
    settle_with_staging,
)
from conveyor_cli.uploads.send import put_single, send_multipart, unchanged
from conveyor_cli.uploads.walk import LocalFile

LISTING_BUDGET = 4
"""A listing may read this many keys per file of the run before the rest are HEADed instead..."""
LISTING_MINIMUM = 1000
"""... and a page in any case."""


def common_prefix(keys: list[str]) -> str:
    """Character by character: S3 prefixes are not path components."""
    return os.path.commonprefix(keys)  # noqa: RUF071


@dataclass(frozen=True)
class Options:
    force: bool = False
    dry_run: bool = False
    resume: bool = True
    jobs: int = 10
    """Requests in flight: files at once, and parts at once."""
    part_size: int = PART_SIZE


@dataclass(slots=True)
class FileResult:
    path: str
    key: str
    action: str
    """uploaded, skipped, failed; with --dry-run: would upload, skipped."""
    reason: str
    decided_by: str
    """The evidence, in order: listing, cache, hash, HEAD (joined by '+')."""
    bytes: int = 0
    seconds: float = 0.0
    resumed_parts: int = 0

    def as_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}  # asdict deep-copies


class Reporter(Protocol):
    """Progress for a person: the whole run, and each large file while it is hashed or sent."""

    def begin(self, files: int, size: int) -> None: ...

    def sent(self, n: int) -> None: ...

    def settled(self, result: FileResult, unsent: int) -> None: ...

    def large(self, verb: str, f: LocalFile) -> Callable[[int], None]: ...

    def large_done(self, f: LocalFile) -> None: ...


class Silent:
    def begin(self, files: int, size: int) -> None:
        pass

    def sent(self, n: int) -> None:
        pass

    def settled(self, result: FileResult, unsent: int) -> None:
        pass

    def large(self, verb: str, f: LocalFile) -> Callable[[int], None]:
        return lambda n: None

    def large_done(self, f: LocalFile) -> None:
        pass


class Run:
    def __init__(
        self,
        s3: Any,
        buckets: Mapping[str, str],
        cache: DigestCache,
        options: Options,
        reporter: Reporter | None = None,
        staged_status: Callable[[str, str], str | None] | None = None,
    ) -> None:
        self.s3 = s3
        self.buckets = dict(buckets)
        self.staging = self.buckets["staging"]
        self.cache = cache
        self.options = options
        self.reporter = reporter or Silent()
        self.staged_status = staged_status
        """The ledger's status of the staging version of a key with this ETag ("" when the
        ledger has none yet); None when there is no ledger to ask."""
        self.stop = threading.Event()
        self.gate = threading.BoundedSemaphore(options.jobs)

    def __call__(self, files: list[LocalFile]) -> list[FileResult]:
        results: list[FileResult | None] = [None] * len(files)
        self.reporter.begin(len(files), sum(f.size for f in files))
        self.cache.prefetch([f.stat.path for f in files])
        listings = {} if self.options.force else self._list([f.key for f in files])
        jobs = self.options.jobs
        with (
            ThreadPoolExecutor(jobs, thread_name_prefix="file") as file_pool,
            ThreadPoolExecutor(jobs, thread_name_prefix="part") as self.part_pool,
        ):
            pending: dict[Future[FileResult], int] = {}
            try:
                for i, f in enumerate(files):
                    quick = self._quick(f, listings)
                    if quick is not None:
                        results[i] = quick
                        self.reporter.settled(quick, f.size)
                    else:
                        pending[file_pool.submit(self._work, f, listings)] = i
                for future in as_completed(pending):
                    results[pending[future]] = future.result()
            except BaseException:
                self.stop.set()
                for future in pending:
                    future.cancel()
                raise
            finally:
                self.cache.flush()
        return [r for r in results if r is not None]

    def _list(self, keys: list[str]) -> dict[str, Listing]:
        """Both buckets, each range of keys at once; a key past a range's budget is left to a
        HEAD."""
        if not keys:
            return {}
        prefix = common_prefix(keys)
        with ThreadPoolExecutor(self.options.jobs, thread_name_prefix="list") as pool:

            def run(call: Callable[..., Listing], calls: list[tuple]) -> list[Listing]:
                return list(pool.map(lambda args: call(*args), calls))

            return {
                where: list_keys(
                    self.s3, bucket, prefix, keys, LISTING_BUDGET, LISTING_MINIMUM, run
                )
                for where, bucket in self.buckets.items()
            }

    def _quick(self, f: LocalFile, listings: Mapping[str, Listing]) -> FileResult | None:
        """Decide from the listings and the cache alone, or None when the file needs work."""
        if f.problem:
            return FileResult(f.path, f.key, "failed", f.problem, "")
        if self.options.force:
            return self._result(f, FORCED, []) if self.options.dry_run else None
        listed: dict[str, Listed | None] = {}
        for where, listing in listings.items():
            entry = listing.lookup(f.key)
            if isinstance(entry, Unknown):
                return None
            listed[where] = entry
        decision = by_listing(f.size, listed)
        if decision is not None:
            return self._result(f, decision, [Via.LISTING]) if self.options.dry_run else None
        cached = self.cache.get(f.stat)
        if cached is None:
            return None
        decision = by_etag(cached.digests, listed, cached.etags)
        if decision is None or other_upload_in_staging(decision, listed):
            return None  # the ledger must say whether that other upload still waits
        return self._result(f, decision, [Via.LISTING, Via.CACHE])

    def _work(self, f: LocalFile, listings: Mapping[str, Listing]) -> FileResult:
        via: list[Via] = []
        sent = SentBytes(self.reporter.sent)
        try:
            decision = self._decide(f, listings, via)
            if decision.action is Action.SKIP or self.options.dry_run:
                result = self._result(f, decision, via)
            else:
                result = self._send(f, decision, via, sent)
        except Exception as err:  # one file's failure never stops the others
            result = FileResult(f.path, f.key, "failed", reason(err), _joined(via))
        self.reporter.settled(result, f.size - sent.total)
        return result

    def _decide(self, f: LocalFile, listings: Mapping[str, Listing], via: list[Via]) -> Decision:
        if self.options.force:
            return FORCED
        listed: dict[str, Listed | None] = {}
        heads: dict[str, Headed | None] = {}
        for where, listing in listings.items():
            entry = listing.lookup(f.key)
            if isinstance(entry, Unknown):
                head = heads[where] = self._head(where, f.key, via)
                entry = Listed(head.size, head.etag) if head else None
            elif Via.LISTING not in via:
                via.append(Via.LISTING)
            listed[where] = entry
        decision = by_listing(f.size, listed)
        if decision is not None:
            return decision
        known = self._digests(f, via)
        decision = by_etag(known.digests, listed, known.etags)
        if decision is not None:
            return self._after_staging(f, decision, listed)
        for where, entry in listed.items():
            if where not in heads and entry is not None and entry.size == f.size:
                heads[where] = self._head(where, f.key, via)
        proven = proven_etags(known.digests, heads)
        if proven - known.etags:
            self.cache.put(f.stat, known.digests, known.hashed_ns, known.etags | proven)
        return self._after_staging(f, by_head(known.digests, heads), listed)

    def _after_staging(
        self, f: LocalFile, decision: Decision, listed: Mapping[str, Listed | None]
    ) -> Decision:
        """An archived copy equal to the file decides nothing while another upload of the key
        waits in staging: that one would be processed last and its output would stand."""
        if not other_upload_in_staging(decision, listed):
            return decision
        staged = listed["staging"]
        assert staged is not None
        status = self.staged_status(f.key, staged.etag) if self.staged_status else None
        return settle_with_staging(decision, status)

    def _digests(self, f: LocalFile, via: list[Via]) -> Cached:
        cached = self.cache.get(f.stat)
        if cached is not None:
            via.append(Via.CACHE)
            return cached
        via.append(Via.HASH)
        started = now_ns()
        part_size = part_size_for(f.size, self.options.part_size)
        advance = self.reporter.large("hashing", f) if multipart(f.size, part_size) else None
        try:
            digests = digest_file(f.path, f.size, part_size, advance, self.stop)
        finally:
            if advance:
                self.reporter.large_done(f)
        unchanged(f)
        self.cache.put(f.stat, digests, started)
        return Cached(digests, frozenset(), started)

    def _send(
        self,
        f: LocalFile,
        decision: Decision,
        via: list[Via],
        on_bytes: Callable[[int], None],
    ) -> FileResult:
        part_size = part_size_for(f.size, self.options.part_size)
        started, hashed_ns = time.monotonic(), now_ns()
        if multipart(f.size, part_size):
            advance = self.reporter.large("sending", f)

            def both(n: int) -> None:
                advance(n)
                on_bytes(n)

            try:
                sent = send_multipart(
                    self.s3,
                    f,
                    self.staging,
                    part_size,
                    pool=self.part_pool,
                    gate=self.gate,
                    stop=self.stop,
                    resume=self.options.resume,
                    on_bytes=both,
                )
            finally:
                self.reporter.large_done(f)
        else:
            with self.gate:  # its bytes count against the same bound as the parts in flight
                sent = put_single(self.s3, f, self.staging, part_size, on_bytes)
        seconds = time.monotonic() - started
        self.cache.put(f.stat, sent.digests, hashed_ns, {sent.etag})
        return self._result(f, decision, via, "uploaded", seconds, sent.resumed_parts)

    def _head(self, where: str, key: str, via: list[Via]) -> Headed | None:
        if Via.HEAD not in via:
            via.append(Via.HEAD)
        head = head_or_none(self.s3, Bucket=self.buckets[where], Key=key, ChecksumMode="ENABLED")
        if head is None:
            return None
        composite = head.get("ChecksumType") == "COMPOSITE"
        return Headed(
            size=int(head["ContentLength"]),
            etag=head["ETag"].strip('"'),
            crc64nvme=None if composite else head.get("ChecksumCRC64NVME"),
        )

    def _result(
        self,
        f: LocalFile,
        decision: Decision,
        via: list[Via],
        upload_word: str = "would upload",  # or "uploaded"
        seconds: float = 0.0,
        resumed: int = 0,
    ) -> FileResult:
        skip = decision.action is Action.SKIP
        return FileResult(
            f.path,
            f.key,
            "skipped" if skip else upload_word,
            decision.reason,
            _joined(via),
            0 if skip else f.size,
            seconds,
            resumed,
        )


class SentBytes:
    """Bytes sent for one file, counted from the part pool's threads too."""

    def __init__(self, forward: Callable[[int], None]) -> None:
        self.total = 0
        self._forward = forward
        self._lock = threading.Lock()

    def __call__(self, n: int) -> None:
        with self._lock:
            self.total += n
        self._forward(n)


def _joined(via: list[Via]) -> str:
    return "+".join(via)


def reason(err: BaseException) -> str:
    response = getattr(err, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        return f"{error.get('Code')}: {error.get('Message')}"
    return str(err) or type(err).__name__
