"""Resubmitting many failed versions: array jobs against one SubmitJob per version.

    .venv/bin/python -m bench.bulk [--versions 10000] [--skip one-by-one]

A moto server in its own process (simple Batch mode: it runs nothing), `--versions` FAILED
ledger entries whose originals are still in staging, then, each through the fault proxy with
SubmitJob throttled to 50 a second (Batch's quota, simulated) so that every call is counted:
(a) `conveyor resubmit --failed --all --yes` (bulk: above the threshold, array jobs), and
(b) the same over the same versions, re-seeded, with `--array-threshold` above their number
(the one-by-one path: one SubmitJob per version). Prints wall time, API calls by service,
SubmitJob calls (and how many the quota refused), and the ratio bulk / one-by-one (goal <= 0.05).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.types import TypeSerializer

from bench.harness import LocalStack
from conveyor.aws import client
from conveyor.clock import iso, millis, utcnow
from conveyor.events.batch import JobStateChange
from conveyor.jobs import JobSpec
from conveyor.ledger import transitions
from conveyor.objects import ObjectVersion
from conveyor.status import Status
from conveyor_local.compute import provision_compute
from conveyor_local.faults import FaultProxy, Throttle
from conveyor_local.stack import configure_moto

PATCHED_MOTO = (
    sys.executable,
    "-c",
    "import sys; from conveyor_local import moto_fixes, moto_speed; moto_fixes.apply(); "
    "moto_speed.apply(); from moto.server import main; main(sys.argv[1:])",
)
"""moto with the local stack's fixes (TransactWriteItems without moto's whole-table copy per
write: conveyor_local.moto_transactions) and DynamoDB's item reads answered without moto's
generic serializer (conveyor_local.moto_speed): costs real DynamoDB does not have, which would
otherwise be most of what is measured."""
PREFIX = "failed/"
SERVICES = ("s3", "dynamodb", "batch")
_serializer = TypeSerializer()


@dataclass
class Run:
    name: str
    seconds: float
    server_cpu: float
    """CPU seconds the moto server spent answering: what moto costs, which AWS does not."""
    calls: dict[str, int]
    submit_jobs: int
    throttled: int
    resubmitted: int


def seed_objects(stack: LocalStack, count: int) -> list[dict[str, Any]]:
    """`count` tiny originals in staging, PUT 32 at a time."""
    s3 = client("s3")
    bucket = stack.bucket("staging")

    def put(i: int) -> dict[str, Any]:
        key = f"{PREFIX}{i:05d}.bin"
        answer = s3.put_object(Bucket=bucket, Key=key, Body=f"{i}".encode())
        return {
            "key": key,
            "version_id": answer["VersionId"],
            "etag": answer["ETag"],
            "size": len(f"{i}"),
        }

    with ThreadPoolExecutor(32) as pool:
        return list(pool.map(put, range(count)))


def seed_failed(stack: LocalStack, objects: list[dict[str, Any]]) -> None:
    """A FAILED entry for each, as the ledger's own rules make it, in BatchWriteItem of 25."""
    dynamodb = client("dynamodb")
    table = stack.settings["CONVEYOR_LEDGER_TABLE"]
    now = iso(utcnow())

    def item(obj: dict[str, Any]) -> dict[str, Any]:
        version = ObjectVersion(
            stack.bucket("staging"), obj["key"], obj["etag"], obj["size"], obj["version_id"]
        )
        spec = JobSpec(version, "copy")
        change = JobStateChange(
            job_id=str(uuid.uuid4()),
            status=Status.FAILED,
            parameters=spec.parameters(),
            job_name=spec.name,
            job_queue=stack.settings["CONVEYOR_JOB_QUEUE"],
            job_definition=stack.settings["CONVEYOR_JOB_DEFINITION"],
            created_at=millis(utcnow()),
            status_reason="Essential container in task exited",
            exit_code=75,
        )
        new = transitions.apply(None, change, now)
        assert new is not None
        return {k: _serializer.serialize(v) for k, v in new.items() if v is not None}

    def write(chunk: list[dict[str, Any]]) -> None:
        request = {table: [{"PutRequest": {"Item": item(obj)}} for obj in chunk]}
        while request:
            request = dynamodb.batch_write_item(RequestItems=request).get("UnprocessedItems")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write, chunks(objects, 25)))


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def resubmit(stack: LocalStack, name: str, extra: list[str]) -> Run:
    """`conveyor resubmit --failed --all --yes` in its own process, through a fresh proxy."""
    proxy = FaultProxy(
        stack.endpoint, [Throttle(service="batch", operation="SubmitJob", per_second=50)]
    ).start()
    env = {
        **stack.env,
        "AWS_ENDPOINT_URL": proxy.url,
        "CONVEYOR_HOME": stack.env.get("CONVEYOR_HOME", "/nonexistent-conveyor-home"),
    }
    command = [sys.executable, "-m", "conveyor_cli", "resubmit", "--failed", "--all", "--yes"]
    cpu = stack.cpu_seconds()
    started = time.perf_counter()
    done = subprocess.run(
        [*command, "--json", *extra], env=env, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    cpu = stack.cpu_seconds() - cpu
    proxy.stop()
    if done.returncode != 0:
        raise RuntimeError(f"{name}: exit {done.returncode}: {done.stderr[-2000:]}")
    rows = json.loads(done.stdout)
    return Run(
        name=name,
        seconds=seconds,
        server_cpu=cpu,
        calls={service: proxy.calls(service=service) for service in SERVICES},
        submit_jobs=proxy.calls(service="batch", operation="SubmitJob"),
        throttled=proxy.faults(service="batch", kind="throttle"),
        resubmitted=sum(1 for row in rows if row["action"] == "resubmitted"),
    )


def report(runs: list[Run], versions: int) -> str:
    header = ("run", "wall s", "moto CPU s", "s3", "dynamodb", "batch", "SubmitJob", "throttled")
    lines = [
        f"Resubmitting {versions:,} FAILED versions (SubmitJob throttled to 50/s by the proxy)",
        f"{header[0]:<12}" + "".join(f"{h:>12}" for h in header[1:]) + f"{'resubmitted':>12}",
    ]
    for run in runs:
        cells = (
            f"{run.seconds:.1f}",
            f"{run.server_cpu:.1f}",
            *(str(run.calls[service]) for service in SERVICES),
            str(run.submit_jobs),
            str(run.throttled),
            str(run.resubmitted),
        )
        lines.append(f"{run.name:<12}" + "".join(f"{c:>12}" for c in cells))
    if len(runs) == 2:
        bulk, single = runs
        calls = sum(bulk.calls.values()) / sum(single.calls.values())
        lines.append(
            f"ratio bulk / one-by-one: wall {bulk.seconds / single.seconds:.3f}x (goal <= 0.05), "
            f"API calls {calls:.4f}x"
        )
        own = (bulk.seconds - bulk.server_cpu) / max(single.seconds - single.server_cpu, 1e-9)
        lines.append(f"wall without moto's own CPU: {own:.3f}x")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--skip", default="", help="comma list of: bulk,one-by-one")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    name = f"bulk{os.getpid()}"
    stack = LocalStack(name=name, server=PATCHED_MOTO)
    try:
        configure_moto(stack.endpoint)
        stack.settings.update(
            provision_compute(batch=client("batch"), iam=client("iam"), name=name)
        )
        stack.env.update(stack.settings)
        # Nothing consumes the staging queue here: 10,000 notifications would only load moto.
        client("s3").put_bucket_notification_configuration(
            Bucket=stack.bucket("staging"), NotificationConfiguration={}
        )
        started = time.perf_counter()
        objects = seed_objects(stack, args.versions)
        print(
            f"seeded {len(objects):,} originals in {time.perf_counter() - started:.1f}s",
            file=sys.stderr,
        )
        runs = []
        for name, extra in (
            ("bulk", []),
            ("one-by-one", ["--array-threshold", str(args.versions + 1)]),
        ):
            if name in skip:
                continue
            started = time.perf_counter()
            seed_failed(stack, objects)
            print(
                f"{name}: seeded the ledger in {time.perf_counter() - started:.1f}s",
                file=sys.stderr,
            )
            runs.append(resubmit(stack, name, extra))
            print(f"{name}: {runs[-1].seconds:.1f}s", file=sys.stderr)
        print(report(runs, args.versions))
    finally:
        try:
            stack.stop()
        except subprocess.TimeoutExpired:  # a big moto takes its time to wind down
            stack.server.kill()


if __name__ == "__main__":
    main()
