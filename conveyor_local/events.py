"""Batch Job State Change events for jobs the local executor runs, shaped as EventBridge delivers
them (the completion handler cannot tell them from AWS's)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from conveyor.jobs import retry_strategy

REGION = "us-east-1"
ACCOUNT = "123456789012"


def state_change(
    job: Mapping[str, Any],
    status: str,
    *,
    attempts: Sequence[Mapping[str, Any]] = (),
    reason: str = "",
    started_at: int | None = None,
    stopped_at: int | None = None,
    exit_code: int | None = None,
    log_stream: str = "",
    array: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """`job` is what DescribeJobs returned for it; the rest is what the executor saw. `array` is
    the job's `arrayProperties`: `{"index": i}` for a child, `{"size": N, "statusSummary": {...}}`
    for an array's parent (whose children's states the executor knows, unlike moto)."""
    container: dict[str, Any] = {"command": list(job.get("container", {}).get("command", []))}
    if exit_code is not None:
        container["exitCode"] = exit_code
    if log_stream:
        container["logStreamName"] = log_stream
    detail: dict[str, Any] = {
        "jobArn": job["jobArn"],
        "jobName": job["jobName"],
        "jobId": job["jobId"],
        "jobQueue": job["jobQueue"],
        "status": status,
        "attempts": [dict(a) for a in attempts],
        "createdAt": job["createdAt"],
        "retryStrategy": _as_events_show(retry_strategy()),
        "dependsOn": [],
        "jobDefinition": job["jobDefinition"],
        "parameters": dict(job.get("parameters", {})),
        "container": container,
        "tags": {"resourceArn": job["jobArn"]},
        "platformCapabilities": ["EC2"],
    }
    if array is not None:
        detail["arrayProperties"] = dict(array)
    if reason:
        detail["statusReason"] = reason
    if started_at is not None:
        detail["startedAt"] = started_at
    if stopped_at is not None:
        detail["stoppedAt"] = stopped_at
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Batch Job State Change",
        "source": "aws.batch",
        "account": ACCOUNT,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [job["jobArn"]],
        "detail": detail,
    }


def attempt_record(
    *, started_at: int, stopped_at: int, exit_code: int, log_stream: str, reason: str
) -> dict[str, Any]:
    """One finished attempt, as `attempts[]` lists it."""
    return {
        "container": {"exitCode": exit_code, "logStreamName": log_stream},
        "startedAt": started_at,
        "stoppedAt": stopped_at,
        "statusReason": reason,
    }


def _as_events_show(strategy: dict[str, Any]) -> dict[str, Any]:
    """Batch's events spell the actions in lower case ("retry", "exit")."""
    rules = [{**rule, "action": rule["action"].lower()} for rule in strategy["evaluateOnExit"]]
    return {**strategy, "evaluateOnExit": rules}
