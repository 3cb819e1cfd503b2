"""Twenty files through the local stack with 10% of S3, SQS, DynamoDB and Batch requests failing
(500, 503/SlowDown, throttling, reset connections; before or after moto applied them): every
version ends SUCCEEDED with the output a fault-free run makes, nothing is lost or done twice.

The videos first go through the same stack with no faults (under `clean/`), and their outputs are
compared byte for byte with the faulty run's (ffmpeg's output is deterministic for one input and
one ffmpeg); a copy's fault-free output is its input, compared directly. Reproduce a run with its
seed (the proxy's decisions are a function of it; concurrency moves some between requests):
CONVEYOR_FAULT_SEED=N .venv/bin/pytest -p no:xdist -s tests/integration/test_faults_local.py
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from conveyor.aws import RETRIES
from conveyor.ledger.store import Ledger
from conveyor.status import RANK, TERMINAL, Status
from conveyor_local import stack as local_stack
from conveyor_local.faults import SERVICES, Faults, summary_table
from conveyor_local.media import make_video

SEED = int(os.environ.get("CONVEYOR_FAULT_SEED", "7"))
SHARE = 0.1
MiB = 1024 * 1024
ROUTES = [
    {"match": "*.mp4", "transform": "h264-720p"},
    {"match": "*", "transform": "copy"},
]
SMALL_PARTS = {
    "CONVEYOR_PART_SIZE": str(5 * MiB),  # S3's minimum part: outputs above it are multipart
    "CONVEYOR_SINGLE_COPY_LIMIT": str(5 * MiB),  # archive copies above it by UploadPartCopy
    "CONVEYOR_PROGRESS_SECONDS": "1",
    "CONVEYOR_LEDGER_PROGRESS_SECONDS": "1",
}
DEADLINE = 150.0
"""Seconds each phase may take (it takes about 30): past it, the assertions say what is missing."""


@dataclass(frozen=True)
class File:
    name: str
    body: bytes


def files(media: Path) -> list[File]:
    """12 small files, 3 multipart-sized ones, 5 small videos: 20, distinct bytes each."""
    rng = random.Random(SEED)
    small = [File(f"small-{i:02d}.bin", rng.randbytes(rng.randint(1, 200_000))) for i in range(12)]
    large = [File(f"large-{i}.bin", rng.randbytes(mb * MiB + i)) for i, mb in enumerate([6, 8, 11])]
    videos = [
        File(
            f"video-{i}.mp4",
            make_video(
                media / f"v{i}.mp4",
                width=width,
                height=width * 9 // 16 // 2 * 2,
                seconds=seconds,
                faststart=i % 2 == 0,
            ).read_bytes(),
        )
        for i, (width, seconds) in enumerate(
            [(160, 1), (192, 1), (224, 0.6), (256, 0.8), (128, 1.2)]
        )
    ]
    return small + large + videos


@pytest.fixture
def running(monkeypatch: pytest.MonkeyPatch) -> Iterator[local_stack.LocalStack]:
    environ = dict(os.environ)
    monkeypatch.setenv("CONVEYOR_ROUTES", json.dumps(ROUTES))
    for name, value in SMALL_PARTS.items():
        monkeypatch.setenv(name, value)
    stack = local_stack.start(port=0, workers=2, record_state=False, faults=[])
    try:
        yield stack
    finally:
        stack.stop()
        os.environ.clear()
        os.environ.update(environ)


def direct(stack: local_stack.LocalStack, service: str) -> Any:
    """A client on moto's own endpoint: the test's checks never meet a fault."""
    return boto3.client(
        service,
        endpoint_url=stack.server.endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=RETRIES,
    )


def wait_for_all(ledger: Ledger, bucket: str, keys: list[str]) -> dict[str, dict[str, Any]]:
    """Each key's one ledger entry once every one has ended (or the deadline passed)."""
    deadline = time.monotonic() + DEADLINE
    entries: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline:
        entries = {}
        for key in keys:
            found = ledger.versions_of(bucket, key)
            if found:
                entries[key] = found[0]
        if len(entries) == len(keys) and all(e.get("status") in TERMINAL for e in entries.values()):
            break
        time.sleep(0.5)
    return entries


def upload_all(s3: Any, bucket: str, prefix: str, batch: list[File]) -> dict[str, str]:
    return {
        f"{prefix}{f.name}": s3.put_object(Bucket=bucket, Key=f"{prefix}{f.name}", Body=f.body)[
            "VersionId"
        ]
        for f in batch
    }


def jobs_per_key(batch: Any, queue: str) -> dict[str, list[str]]:
    """Every Batch job on the queue, by the key it is for."""
    ids: set[str] = set()
    for status in (
        "SUBMITTED",
        "PENDING",
        "RUNNABLE",
        "STARTING",
        "RUNNING",
        "SUCCEEDED",
        "FAILED",
    ):
        for page in batch.get_paginator("list_jobs").paginate(jobQueue=queue, jobStatus=status):
            ids.update(j["jobId"] for j in page["jobSummaryList"])
    found: dict[str, list[str]] = {}
    listed = sorted(ids)
    for start in range(0, len(listed), 100):
        for job in batch.describe_jobs(jobs=listed[start : start + 100])["jobs"]:
            found.setdefault(job["parameters"]["key"], []).append(job["jobId"])
    return found


def monotonic(history: list[dict[str, Any]]) -> bool:
    """Within each job, every entry is further along than the one before (attempt, rank)."""
    last: dict[str, tuple[int, int]] = {}
    for entry in history:
        step = (int(entry.get("attempt", 1)), RANK[Status(entry["status"])])
        if entry["job_id"] in last and step <= last[entry["job_id"]]:
            return False
        last[entry["job_id"]] = step
    return True


def output_of(s3: Any, bucket: str, key: str) -> bytes:
    name = f"{key}.h264-720p.mp4" if key.endswith(".mp4") else key
    return s3.get_object(Bucket=bucket, Key=name)["Body"].read()


def since(after: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    """The proxy's summary of what happened between two summaries."""
    delta: dict[str, Any] = {}
    for service, entry in after.items():
        old = before.get(service, {"requests": 0, "faults": {}})
        faults = {k: n - old["faults"].get(k, 0) for k, n in entry["faults"].items()}
        delta[service] = {"requests": entry["requests"] - old["requests"], "faults": faults}
    return delta


def test_twenty_files_under_ten_percent_faults(
    running: local_stack.LocalStack, tmp_path: Path
) -> None:
    stack = running
    assert stack.proxy is not None
    settings = stack.settings
    staging = settings["CONVEYOR_STAGING_BUCKET"]
    outputs, archive = settings["CONVEYOR_OUTPUT_BUCKET"], settings["CONVEYOR_ARCHIVE_BUCKET"]
    s3, dynamodb, batch = (direct(stack, s) for s in ("s3", "dynamodb", "batch"))
    ledger = Ledger(dynamodb, settings["CONVEYOR_LEDGER_TABLE"])
    batch_files = files(tmp_path)
    originals = {f.name: f.body for f in batch_files}
    assert len(originals) == 20

    videos = [f for f in batch_files if f.name.endswith(".mp4")]
    clean = upload_all(s3, staging, "clean/", videos)
    ended = {k: e.get("status") for k, e in wait_for_all(ledger, staging, list(clean)).items()}
    assert ended == dict.fromkeys(clean, "SUCCEEDED")

    print(f"\nfault seed {SEED} (CONVEYOR_FAULT_SEED={SEED} reproduces it)")
    stack.proxy.add(Faults(share=dict.fromkeys(SERVICES, SHARE), seed=SEED))
    before = stack.proxy.summary()
    faulty = upload_all(s3, staging, "faulty/", batch_files)
    entries = wait_for_all(ledger, staging, list(faulty))
    summary = since(stack.proxy.summary(), before)
    jobs = jobs_per_key(batch, settings["CONVEYOR_JOB_QUEUE"])
    ended = {k: e.get("status") for k, e in entries.items()}
    succeeded = sum(status == "SUCCEEDED" for status in ended.values())
    duplicated = sum(len(jobs.get(k, [])) > 1 for k in faulty)
    print(summary_table(summary, SERVICES))
    print(
        f"files {len(faulty)}: {succeeded} SUCCEEDED, {len(faulty) - succeeded} not, "
        f"{duplicated} with more than one job"
    )

    assert ended == dict.fromkeys(faulty, "SUCCEEDED"), {
        k: (e.get("status"), e.get("error"), e.get("log_stream")) for k, e in entries.items()
    }
    for key, entry in entries.items():
        name = key.removeprefix("faulty/")
        assert entry["version_id"] == faulty[key]
        # Byte-identical to the fault-free run: a copy's is its original.
        clean_output = output_of(s3, outputs, f"clean/{name}") if name.endswith(".mp4") else None
        assert output_of(s3, outputs, key) == (clean_output or originals[name]), key
        # The archive holds the original, verified before the staging version was deleted.
        archived = entry["archive"]
        body = s3.get_object(Bucket=archive, Key=key, VersionId=archived["version_id"])["Body"]
        assert body.read() == originals[name], key
        # One job, whose history only moves forward.
        assert {h["job_id"] for h in entry["history"]} == {entry["job_id"]}, key
        assert monotonic(entry["history"]), (key, entry["history"])
    listed = s3.list_object_versions(Bucket=staging, Prefix="faulty/")
    assert not listed.get("Versions") and not listed.get("DeleteMarkers")
    for bucket in (staging, outputs, archive):
        assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == [], bucket
    assert {k: len(jobs.get(k, [])) for k in faulty} == dict.fromkeys(faulty, 1)
    for service in SERVICES:
        assert sum(summary[service]["faults"].values()) > 0, service
