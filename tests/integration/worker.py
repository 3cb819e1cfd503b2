"""Running `python -m batch_job` as the container would, and checking the invariants after it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batch_job.steps import Step
from conveyor.aws import client
from conveyor.events.batch import JobStateChange
from conveyor.jobs import COMMAND, ENTRYPOINT, JobSpec, command_line
from conveyor.ledger.store import Ledger
from conveyor.objects import ObjectVersion
from conveyor.status import Status
from tests.conftest import Stack

ROOT = Path(__file__).resolve().parents[2]
"""The checkout: where `python -m tests.integration.crashing_worker` finds `tests`."""
CRASHING_WORKER = "tests.integration.crashing_worker"


@dataclass
class Uploaded:
    key: str
    version_id: str
    etag: str
    body: bytes


def upload(stack: Stack, key: str, body: bytes, **extra: Any) -> Uploaded:
    response = stack.s3.put_object(Bucket=stack.staging, Key=key, Body=body, **extra)
    return Uploaded(key, response["VersionId"], response["ETag"].strip('"'), body)


def run_worker(
    stack: Stack,
    obj: Uploaded,
    transform: str = "copy",
    *,
    env: dict[str, str] | None = None,
    job_id: str = "",
    output_key: str = "",
    sequencer: str = "",
    argv: list[str] | None = None,
    timeout: float = 120,
    crash_after: Step | None = None,
) -> subprocess.CompletedProcess[str]:
    """The worker for one version, given a job spec as the trigger would make it; killed by
    SIGKILL right after the step `crash_after` if given (tests/integration/crashing_worker.py)."""
    version = ObjectVersion(
        stack.staging, obj.key, obj.etag, len(obj.body), obj.version_id or None, sequencer or None
    )
    spec = JobSpec(version, transform, output_key or None, tuple(argv) if argv else None)
    return run_parameters(
        spec.parameters(), env=env, job_id=job_id, timeout=timeout, crash_after=crash_after
    )


def run_parameters(
    parameters: dict[str, str],
    *,
    env: dict[str, str] | None = None,
    job_id: str = "",
    timeout: float = 120,
    crash_after: Step | None = None,
) -> subprocess.CompletedProcess[str]:
    """What Batch runs for a job with these parameters: the job definition's command, filled in."""
    entry = [*ENTRYPOINT[1:]]
    if crash_after is not None:
        entry = ["-m", CRASHING_WORKER, crash_after.value]
    command = [sys.executable, *entry, *command_line(COMMAND, parameters)]
    environment = {**os.environ, "AWS_BATCH_JOB_ID": job_id, **(env or {})}
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=environment,
        timeout=timeout,
        cwd=ROOT if crash_after is not None else None,
    )


def log_lines(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    """Every stderr line must be one JSON object."""
    return [json.loads(line) for line in result.stderr.splitlines() if line.strip()]


def get(stack: Stack, bucket_setting: str, key: str, **kw: Any) -> bytes:
    bucket = stack.settings[bucket_setting]
    return stack.s3.get_object(Bucket=bucket, Key=key, **kw)["Body"].read()


def exists(stack: Stack, bucket: str, key: str, **kw: Any) -> bool:
    try:
        stack.s3.head_object(Bucket=bucket, Key=key, **kw)
    except stack.s3.exceptions.ClientError:
        return False
    return True


def outputs(stack: Stack, prefix: str = "") -> list[dict[str, Any]]:
    """What the output bucket holds (under `prefix`)."""
    bucket = stack.settings["CONVEYOR_OUTPUT_BUCKET"]
    return stack.s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])


def open_uploads(stack: Stack) -> list[str]:
    found = []
    for setting in ("CONVEYOR_OUTPUT_BUCKET", "CONVEYOR_ARCHIVE_BUCKET", "CONVEYOR_STAGING_BUCKET"):
        bucket = stack.settings[setting]
        found += [
            u["Key"] for u in stack.s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
        ]
    return found


def archive_versions(stack: Stack, key: str) -> list[dict[str, Any]]:
    bucket = stack.settings["CONVEYOR_ARCHIVE_BUCKET"]
    listing = stack.s3.list_object_versions(Bucket=bucket, Prefix=key)
    return [v for v in listing.get("Versions", []) if v["Key"] == key]


def staging_has(stack: Stack, obj: Uploaded) -> bool:
    return exists(stack, stack.staging, obj.key, VersionId=obj.version_id)


def ledger(stack: Stack) -> Ledger:
    return Ledger(client("dynamodb"), stack.settings["CONVEYOR_LEDGER_TABLE"])


def record_running(stack: Stack, obj: Uploaded, job_id: str) -> None:
    """Put the version in the ledger as the trigger and Batch would have, RUNNING as `job_id`."""
    params = {
        "bucket": stack.staging,
        "key": obj.key,
        "version_id": obj.version_id,
        "etag": obj.etag,
    }
    ledger(stack).apply(JobStateChange(job_id=job_id, status=Status.RUNNING, parameters=params))
