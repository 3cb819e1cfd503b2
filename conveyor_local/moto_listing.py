"""Two listings moto answers from everything it holds, which a burst of 1,000 files on the local
stack turns quadratic.

ListJobs: moto ignores the AFTER_CREATED_AT / BEFORE_CREATED_AT filters (it lists every job), so
the local executor, which asks only for jobs created since the newest it saw, would list a queue
of 10,000 finished jobs again every half second. The fix filters on createdAt (epoch ms) as Batch
does.

ListObjectVersions: moto deep-copies every version of every key in the bucket, then keeps those
under the prefix: with 1,000 files in staging, one call for one key took ~0.4 s of the server's
CPU, and the trigger makes one per file (S3's events in moto carry no version id), the worker
more. It also fails (HTTP 500) when a key is deleted while it copies. The fix hands it only the
keys under the prefix, as they are at the call.
"""

from __future__ import annotations

from typing import Any

CREATED_AT_FILTERS = ("AFTER_CREATED_AT", "BEFORE_CREATED_AT")


def apply() -> None:
    """Patch moto's Batch and S3 backends in this process (idempotent)."""
    _list_jobs_by_creation()
    _list_object_versions_under_prefix()


def created_within(job: Any, filters: list[dict[str, Any]], millis: Any) -> bool:
    """Whether `job` was created inside every AFTER_/BEFORE_CREATED_AT bound (epoch ms, as
    `millis` turns moto's datetime into createdAt); a job moto has not finished making (no
    creation time yet) is left for the next listing."""
    created = getattr(job, "job_created_at", None)
    if created is None:
        return False
    at = int(millis(created))
    for f in filters:
        bound = int(f["values"][0])
        if (f["name"] == "AFTER_CREATED_AT" and at <= bound) or (
            f["name"] == "BEFORE_CREATED_AT" and at >= bound
        ):
            return False
    return True


def _list_jobs_by_creation() -> None:
    from moto.batch.models import BatchBackend, datetime2int_milliseconds

    original = BatchBackend.list_jobs
    if getattr(original, "conveyor_fix", False):
        return

    def list_jobs(
        self: Any,
        job_queue_name: str | None,
        array_job_id: str | None,
        job_status: str | None = None,
        filters: list[dict[str, Any]] | None = None,
    ) -> list[Any]:
        by_time = [f for f in filters or [] if f.get("name") in CREATED_AT_FILTERS]
        if not by_time:
            return original(self, job_queue_name, array_job_id, job_status, filters)
        rest = [f for f in filters or [] if f not in by_time] or None
        jobs = original(self, job_queue_name, array_job_id, None, rest)  # filters: any status
        return [job for job in jobs if created_within(job, by_time, datetime2int_milliseconds)]

    list_jobs.conveyor_fix = True  # type: ignore[attr-defined]
    BatchBackend.list_jobs = list_jobs  # type: ignore[method-assign]


def _list_object_versions_under_prefix() -> None:
    from moto.s3.models import S3Backend

    original = S3Backend.list_object_versions
    if getattr(original, "conveyor_fix", False):
        return

    def list_object_versions(
        self: Any,
        bucket_name: str,
        delimiter: str | None = None,
        key_marker: str | None = None,
        max_keys: int | None = 1000,
        prefix: str = "",
        version_id_marker: str | None = None,
    ) -> Any:
        backend = _OneBucket(self, self.get_bucket(bucket_name), prefix or "")
        return original(
            backend, bucket_name, delimiter, key_marker, max_keys, prefix, version_id_marker
        )

    list_object_versions.conveyor_fix = True  # type: ignore[attr-defined]
    S3Backend.list_object_versions = list_object_versions  # type: ignore[method-assign]


class _OneBucket:
    """The backend as ListObjectVersions sees it: its bucket holds only the keys under the
    prefix, each with its versions as they were when the call began."""

    def __init__(self, backend: Any, bucket: Any, prefix: str) -> None:
        self._backend = backend
        # dict.items: the store's own lists of versions (its __getitem__ gives the latest only);
        # list() takes them in one step, so a key deleted meanwhile is simply not there.
        under = [(k, v) for k, v in list(dict.items(bucket.keys)) if k.startswith(prefix)]
        self._bucket = _Bucket(bucket, under)

    def get_bucket(self, name: str) -> Any:
        return self._bucket

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)


class _Bucket:
    def __init__(self, bucket: Any, keys: list[tuple[str, list[Any]]]) -> None:
        self._bucket = bucket
        self.keys = _Keys(keys)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bucket, name)


class _Keys:
    def __init__(self, lists: list[tuple[str, list[Any]]]) -> None:
        self._lists = lists

    def iterlists(self) -> Any:
        return iter(self._lists)
