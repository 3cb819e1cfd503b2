"""How does the local stack take a burst: N small files uploaded at once, SubmitJob throttled?

    .venv/bin/python -m bench.burst [--files 1000] [--per-second 50] [--workers 2] [--threads 32]

The whole local stack runs in this process (`conveyor_local.stack.start`, routes `*` -> copy),
with the fault proxy between its components and moto throttling Batch's SubmitJob to
--per-second (a token bucket, bursts of as many; above it, TooManyRequestsException). The files
(64 bytes each, distinct) are PUT by --threads threads straight to moto's endpoint, so the
uploads are not counted as the stack's requests. Then it waits until every version's job has
SUCCEEDED and the staging queue is empty, and checks from moto directly:

- jobs: the jobs on moto's queue; duplicates: jobs beyond one per version, and ledger entries
  whose history names more than one job; lost: versions not SUCCEEDED in the ledger, versions
  left in staging, and outputs missing;
- the time from the last upload's answer to the last SubmitJob accepted and to the last
  SUCCEEDED event delivered;
- SubmitJob requests through the proxy, throttled ones included;
- the trigger's requests per file by service: counted on the trigger service's own clients
  (botocore's before-send, so every attempt, retries included), as its Lambda would make them;
  the SQS requests are the poller's (it stands in for Lambda's event source mapping, which
  AWS does not bill to the function): counted through the proxy, where nothing else uses SQS;
- peak RSS of this process (moto, the stack, the uploader threads; a job's own cannot be told
  here: Linux counts in a forked child's peak the parent's RSS at the fork), and the CPU seconds
  of this process and of the jobs, as average cores used over the burst.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from conveyor.aws import RETRIES
from conveyor.ledger.store import Ledger

ROUTES = json.dumps([{"match": "*", "transform": "copy"}])
PREFIX = "burst/"
BODY = 64
"""Bytes per file."""
SETTLE_SECONDS = 60.0
"""After the last SUCCEEDED, how long the staging queue may take to empty (redeliveries)."""


@dataclass
class TriggerCalls:
    """The trigger service's requests (every attempt) by service and operation, and when its
    last SubmitJob was accepted."""

    requests: Counter[tuple[str, str]] = field(default_factory=Counter)
    last_submitted: float = 0.0
    submitted: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def attach(self, client: Any) -> Any:
        """Count the requests of one of the trigger's clients; returns it."""
        client.meta.events.register("before-send", self._sent)
        client.meta.events.register("after-call.batch.SubmitJob", self._submitted)
        return client

    def _sent(self, event_name: str, **_: Any) -> None:
        _, service, operation = event_name.split(".", 2)
        with self.lock:
            self.requests[(service, operation)] += 1

    def _submitted(self, http_response: Any, **_: Any) -> None:
        if http_response.status_code < 300:
            with self.lock:
                self.last_submitted = time.monotonic()
                self.submitted += 1

    def by_service(self) -> Counter[str]:
        with self.lock:
            totals: Counter[str] = Counter()
            for (service, _), n in self.requests.items():
                totals[service] += n
            return totals


@contextmanager
def counted_trigger() -> Iterator[TriggerCalls]:
    """While inside, the trigger service is built with its clients' requests counted."""
    from trigger_lambda import factory

    calls = TriggerCalls()
    original = factory.clients

    def counted(*services: str, **kwargs: Any) -> tuple[Any, ...]:
        return tuple(calls.attach(made) for made in original(*services, **kwargs))

    factory.clients = counted  # type: ignore[assignment]
    try:
        yield calls
    finally:
        factory.clients = original  # type: ignore[assignment]


@dataclass
class Finished:
    """Every SUCCEEDED event the completion handler recorded: the observer of the local stack."""

    succeeded: dict[tuple[str, str], float] = field(default_factory=dict)
    """(key, version id) -> when its job's SUCCEEDED was delivered."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, event: dict[str, Any]) -> None:
        detail = event["detail"]
        if detail["status"] != "SUCCEEDED" or "size" in detail.get("arrayProperties", {}):
            return
        parameters = detail.get("parameters", {})
        with self.lock:
            self.succeeded[(parameters.get("key", ""), parameters.get("version_id", ""))] = (
                time.monotonic()
            )

    def count(self, prefix: str) -> int:
        with self.lock:
            return sum(1 for key, _ in self.succeeded if key.startswith(prefix))

    def last(self, prefix: str) -> float:
        with self.lock:
            return max(
                (t for (k, _), t in self.succeeded.items() if k.startswith(prefix)), default=0
            )


@dataclass
class Result:
    files: int
    jobs: int
    duplicate_jobs: int
    duplicate_claims: int
    not_succeeded: dict[str, str]
    staging_left: int
    outputs: int
    upload_seconds: float
    to_last_submitted: float
    to_last_succeeded: float
    submit_requests: int
    submit_throttled: int
    trigger_requests: dict[str, int]
    poller_sqs: dict[str, int]
    peak_rss_kib: int
    stack_cpu: float
    jobs_cpu: float

    @property
    def lost(self) -> int:
        missing_outputs = max(self.files - self.outputs, 0)
        return len(self.not_succeeded) + self.staging_left + missing_outputs

    @property
    def duplicates(self) -> int:
        return self.duplicate_jobs + self.duplicate_claims


def direct(stack: Any, service: str, connections: int = 10) -> Any:
    """A client on moto's own endpoint: the checks and the uploads never meet the proxy."""
    return boto3.client(
        service,
        endpoint_url=stack.server.endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=RETRIES.merge(Config(max_pool_connections=connections)),
    )


def upload(s3: Any, bucket: str, count: int, threads: int, prefix: str) -> dict[str, str]:
    """`count` distinct small files PUT at once from `threads` threads: key -> version id."""

    def put(n: int) -> tuple[str, str]:
        key = f"{prefix}{n:06d}.txt"
        body = f"burst file {n:06d}\n".encode().ljust(BODY, b".")
        return key, s3.put_object(Bucket=bucket, Key=key, Body=body)["VersionId"]

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return dict(pool.map(put, range(count)))


def wait(done: Callable[[], bool], seconds: float, poll: float = 0.2) -> bool:
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(poll)
    return True


def queue_empty(sqs: Any, url: str) -> bool:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return all(int(attributes[n]) == 0 for n in names)


def jobs_by_version(batch: Any, queue: str) -> Counter[tuple[str, str]]:
    """How many jobs moto's queue holds for each (key, version id); array children left out."""
    listed = batch.list_jobs(
        jobQueue=queue, filters=[{"name": "AFTER_CREATED_AT", "values": ["0"]}]
    )["jobSummaryList"]
    ids = [j["jobId"] for j in listed if ":" not in j["jobId"]]
    found: Counter[tuple[str, str]] = Counter()
    for start in range(0, len(ids), 100):
        for job in batch.describe_jobs(jobs=ids[start : start + 100])["jobs"]:
            found[(job["parameters"]["key"], job["parameters"]["version_id"])] += 1
    return found


def cpu_seconds() -> tuple[float, float]:
    """CPU seconds of this process and of the jobs it waited for, so far."""
    times = os.times()
    return times.user + times.system, times.children_user + times.children_system


def run_burst(
    stack: Any,
    finished: Finished,
    calls: TriggerCalls,
    *,
    files: int,
    threads: int = 32,
    prefix: str = PREFIX,
    timeout: float = 1800.0,
) -> Result:
    """Upload `files` files at once into the running `stack` and check what became of them."""
    settings = stack.settings
    staging = settings["CONVEYOR_STAGING_BUCKET"]
    s3, sqs, batch, dynamodb = (direct(stack, s) for s in ("s3", "sqs", "batch", "dynamodb"))
    proxy = stack.proxy
    submits_before = proxy.calls("batch", "SubmitJob") if proxy else 0
    throttled_before = proxy.faults("batch", "throttle") if proxy else 0
    sqs_before = {op: proxy.calls("sqs", op) for op in SQS_OPERATIONS} if proxy else {}
    trigger_before = calls.by_service()
    cpu_before = cpu_seconds()

    started = time.monotonic()
    versions = upload(direct(stack, "s3", threads), staging, files, threads, prefix)
    uploaded = time.monotonic()
    print(f"  uploaded {files} files in {uploaded - started:.1f}s", file=sys.stderr)
    wait(lambda: finished.count(prefix) >= files, timeout, poll=0.5)
    print(f"  {finished.count(prefix)} SUCCEEDED", file=sys.stderr)
    wait(
        lambda: queue_empty(sqs, settings["CONVEYOR_STAGING_QUEUE"]) and stack.executor.idle(),
        SETTLE_SECONDS,
    )
    cpu_after = cpu_seconds()

    ledger = Ledger(dynamodb, settings["CONVEYOR_LEDGER_TABLE"])
    entries = {e["object_key"]: e for e in ledger.under_prefix(staging, prefix)}
    not_succeeded = {
        key: str(entries[key].get("status")) if key in entries else "no entry"
        for key, version in versions.items()
        if key not in entries
        or entries[key].get("status") != "SUCCEEDED"
        or entries[key].get("version_id") != version
    }
    duplicate_claims = sum(
        1 for e in entries.values() if len({h["job_id"] for h in e.get("history", [])}) > 1
    )
    per_version = jobs_by_version(batch, settings["CONVEYOR_JOB_QUEUE"])
    ours = {kv: n for kv, n in per_version.items() if kv[0].startswith(prefix)}
    staging_left = len(s3.list_object_versions(Bucket=staging, Prefix=prefix).get("Versions", []))
    outputs = sum(
        page.get("KeyCount", 0)
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=settings["CONVEYOR_OUTPUT_BUCKET"], Prefix=prefix
        )
    )
    trigger_after = calls.by_service()
    return Result(
        files=files,
        jobs=sum(ours.values()),
        duplicate_jobs=sum(n - 1 for n in ours.values() if n > 1),
        duplicate_claims=duplicate_claims,
        not_succeeded=not_succeeded,
        staging_left=staging_left,
        outputs=outputs,
        upload_seconds=uploaded - started,
        to_last_submitted=calls.last_submitted - uploaded,
        to_last_succeeded=finished.last(prefix) - uploaded,
        submit_requests=(proxy.calls("batch", "SubmitJob") - submits_before) if proxy else 0,
        submit_throttled=(proxy.faults("batch", "throttle") - throttled_before) if proxy else 0,
        trigger_requests={
            s: trigger_after[s] - trigger_before.get(s, 0) for s in sorted(trigger_after)
        },
        poller_sqs={op: proxy.calls("sqs", op) - sqs_before[op] for op in SQS_OPERATIONS}
        if proxy
        else {},
        peak_rss_kib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        stack_cpu=cpu_after[0] - cpu_before[0],
        jobs_cpu=cpu_after[1] - cpu_before[1],
    )


SQS_OPERATIONS = ("ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility")


@contextmanager
def burst_stack(
    *, per_second: float, workers: int, burst: float | None = None
) -> Iterator[tuple[Any, Finished, TriggerCalls]]:
    """The local stack copying every file, SubmitJob throttled to `per_second` (bursts of
    `burst`, default as many), its trigger counted and its SUCCEEDED events watched; the
    environment is put back afterwards. Its resources have names of their own: moto's state
    is one per process, whatever the server."""
    from conveyor_local import stack as local_stack
    from conveyor_local.faults import Throttle

    environ = dict(os.environ)
    home = tempfile.mkdtemp(prefix="conveyor-burst-")
    os.environ.update(CONVEYOR_HOME=home, CONVEYOR_ROUTES=ROUTES)
    finished = Finished()
    throttle = Throttle(service="batch", operation="SubmitJob", per_second=per_second, burst=burst)
    with counted_trigger() as calls:
        running = local_stack.start(
            workers=workers,
            name=f"burst-{uuid.uuid4().hex[:8]}",
            record_state=False,
            observe=finished,
            faults=[throttle],
        )
    try:
        yield running, finished, calls
    finally:
        running.stop()
        os.environ.clear()
        os.environ.update(environ)


def report(result: Result, *, per_second: float, workers: int) -> str:
    files = result.files
    wall = max(result.to_last_succeeded + result.upload_seconds, 1e-9)
    per_file = ", ".join(f"{s} {n / files:.2f}" for s, n in result.trigger_requests.items())
    sqs = ", ".join(f"{op} {n}" for op, n in result.poller_sqs.items())
    rows = [
        ("files", f"{files}"),
        ("jobs", f"{result.jobs}"),
        ("duplicates (extra jobs + entries with 2 jobs)", f"{result.duplicates}"),
        ("lost (not SUCCEEDED + left in staging + no output)", f"{result.lost}"),
        ("upload of all files, s", f"{result.upload_seconds:.1f}"),
        ("last upload -> last SUBMITTED, s", f"{result.to_last_submitted:.1f}"),
        ("last upload -> last SUCCEEDED, s", f"{result.to_last_succeeded:.1f}"),
        (f"SubmitJob requests (throttled at {per_second:g}/s)", f"{result.submit_requests}"),
        ("  of which throttled", f"{result.submit_throttled}"),
        ("trigger requests per file", per_file),
        ("poller SQS requests", sqs),
        ("peak RSS of the stack process, MiB", f"{result.peak_rss_kib / 1024:.0f}"),
        (
            f"CPU s: stack / jobs ({workers} workers, {os.cpu_count()} cores)",
            f"{result.stack_cpu:.0f} / {result.jobs_cpu:.0f}"
            f" = {(result.stack_cpu + result.jobs_cpu) / wall:.2f} cores",
        ),
        ("jobs per second (upload start -> last SUCCEEDED)", f"{files / wall:.1f}"),
    ]
    width = max(len(name) for name, _ in rows)
    lines = [f"{name:<{width}}  {value}" for name, value in rows]
    if result.not_succeeded:
        lines.append(f"not SUCCEEDED (first 5): {list(result.not_succeeded.items())[:5]}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--per-second", type=float, default=50.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=32)
    args = parser.parse_args(argv)
    with burst_stack(per_second=args.per_second, workers=args.workers) as (stack, done, calls):
        result = run_burst(stack, done, calls, files=args.files, threads=args.threads)
    print(report(result, per_second=args.per_second, workers=args.workers))
    return 0 if result.lost == 0 and result.duplicates == 0 and result.jobs == args.files else 1


if __name__ == "__main__":
    sys.exit(main())
