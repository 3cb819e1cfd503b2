"""Writing an output that is a tree: every object under this run's directory first, as the
transform makes them, then the master object last, committed on the same condition as a single
output (nothing there, or what the plan decided to replace). Until the commit no player sees any
of it; leaving without a commit deletes the run's objects (best effort: a later run of this
version removes what is left, see tree_runs)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from batch_job.errors import BadInput
from batch_job.limits import MAX_OUTPUT_BYTES
from batch_job.tree_runs import REPLACED_METADATA, RUN_METADATA, delete_prefix, tree_dir
from batch_job.upload import CHECKSUM, as_conflict
from conveyor.s3 import head_or_none

logger = logging.getLogger(__name__)

MASTER_CACHE = "no-cache"
"""The master changes when a newer upload replaces it: caches (a CDN, a player) ask again."""
RUN_CACHE = "max-age=31536000, immutable"
"""A run's objects never change (each run has a directory of its own): cache them for good."""


class TreeUpload:
    def __init__(
        self,
        s3: Any,
        bucket: str,
        key: str,
        run_id: str,
        *,
        metadata: dict[str, str],
        content_type: str,
        on_written: Callable[[int], None] | None = None,
        on_put: Callable[[int], None] | None = None,
        on_ready: Callable[[], None] | None = None,
        max_bytes: int | None = None,
    ) -> None:
        """`key` is the master's; `on_put(n)` follows the n-th object put, `on_ready` the
        master's body being set (every other object is in the bucket)."""
        self.bucket, self.key, self.run_id = bucket, key, run_id
        self.prefix = tree_dir(key) + run_id + "/"
        self._s3 = s3
        self._metadata = metadata
        self._content_type = content_type
        self._on_written = on_written or (lambda n: None)
        self._on_put = on_put or (lambda n: None)
        self._on_ready = on_ready or (lambda: None)
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self._total = 0
        self._count = 0
        self._master: bytes | None = None
        self.outputs: list[dict[str, Any]] = []
        """What the ledger gets: every object put with a role, then the master."""
        self.replaced_run: str | None = None
        """The run the master we replace references (set before each commit attempt)."""
        self.committed = False
        self._attempted = False
        """A master put was sent: it may have landed even if no answer came back."""

    def __enter__(self) -> TreeUpload:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if not self.committed:
            self.abort()

    def put(
        self, relative: str, body: bytes, content_type: str, role: str | None = None, **extras: Any
    ) -> None:
        """Put one object of the run (thread-safe); with a `role` it is listed in `outputs`."""
        with self._lock:
            self._total += len(body)
            if self._max_bytes is not None and self._total > self._max_bytes:
                raise BadInput(f"the output exceeds {MAX_OUTPUT_BYTES}={self._max_bytes} bytes")
        key = self.prefix + relative
        self._s3.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=body,
            ContentType=content_type,
            CacheControl=RUN_CACHE,
            ChecksumAlgorithm=CHECKSUM,
        )
        self._on_written(len(body))
        with self._lock:
            self._count += 1
            count = self._count
            if role is not None:
                entry = {"bucket": self.bucket, "key": key, "role": role, "bytes": len(body)}
                self.outputs.append({**entry, **extras})
        self._on_put(count)

    def set_master(self, body: bytes) -> None:
        """The master's body, once every object it references is in the bucket."""
        self._master = body
        self._on_ready()

    def commit(self, *, replacing_etag: str | None) -> str:
        """Put the master if the key holds `replacing_etag` (None: holds nothing)."""
        if self._master is None:
            raise RuntimeError("the tree's master was never set")
        condition = {"IfMatch": replacing_etag} if replacing_etag else {"IfNoneMatch": "*"}
        metadata = {**self._metadata, RUN_METADATA: self.run_id}
        if self.replaced_run and self.replaced_run != self.run_id:
            metadata[REPLACED_METADATA] = self.replaced_run
        self._attempted = True
        try:
            response = self._s3.put_object(
                Bucket=self.bucket,
                Key=self.key,
                Body=self._master,
                ContentType=self._content_type,
                CacheControl=MASTER_CACHE,
                Metadata=metadata,
                ChecksumAlgorithm=CHECKSUM,
                **condition,
            )
        except ClientError as err:
            conflict = as_conflict(err, self.bucket, self.key)
            if conflict is None:
                raise
            raise conflict from err
        self._on_written(len(self._master))
        self.found_committed()
        return str(response["ETag"]).strip('"')

    def found_committed(self) -> None:
        """The master is in place (put now, or found there after a response was lost)."""
        assert self._master is not None
        self.committed = True
        master = {"bucket": self.bucket, "key": self.key, "role": "master"}
        self.outputs.insert(0, {**master, "bytes": len(self._master)})

    def abort(self) -> None:
        """Delete this run's objects; best effort (what stays, this version's re-run removes).

        Not when a master put was sent and the master now names this run, or nobody can tell:
        a put whose answer was lost may have landed, and its run must then stay."""
        if self._attempted and not self._surely_not_ours():
            logger.warning(
                "run %s may be the master's (its put went unanswered): kept", self.run_id
            )
            return
        try:
            removed = delete_prefix(self._s3, self.bucket, self.prefix)
        except Exception as err:  # the job's own error matters more
            logger.warning("could not remove run %s: %s", self.run_id, err)
            return
        if removed:
            logger.info("removed %d object(s) of uncommitted run %s", removed, self.run_id)

    def _surely_not_ours(self) -> bool:
        """Whether the master, as it stands, names another run (or nothing)."""
        try:
            head = head_or_none(self._s3, Bucket=self.bucket, Key=self.key)
        except Exception as err:  # cannot tell: keep the run, a re-run tidies it
            logger.warning("could not read the master back: %s", err)
            return False
        metadata = {k.lower(): v for k, v in (head or {}).get("Metadata", {}).items()}
        return metadata.get(RUN_METADATA) != self.run_id
