"""Glue for integration tests: SQS messages as Lambda sees them, jobs as Batch describes them."""

from __future__ import annotations

from typing import Any

BATCH_STATUSES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The SQS event source's batch, built from messages received over HTTP."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


def all_jobs(batch: Any, queue: str) -> list[dict[str, Any]]:
    """Every job on the queue whatever its state, described (parameters included)."""
    ids = []
    for status in BATCH_STATUSES:
        ids += [
            j["jobId"] for j in batch.list_jobs(jobQueue=queue, jobStatus=status)["jobSummaryList"]
        ]
    jobs = []
    for start in range(0, len(ids), 100):
        jobs += batch.describe_jobs(jobs=ids[start : start + 100])["jobs"]
    return jobs


def state_change(job: dict[str, Any], status: str, **detail: Any) -> dict[str, Any]:
    """A "Batch Job State Change" event for a job described by DescribeJobs."""
    return {
        "version": "0",
        "id": "c8f9c4b5-76e5-d76a-f980-7011e206042b",
        "detail-type": "Batch Job State Change",
        "source": "aws.batch",
        "account": "123456789012",
        "time": "2026-11-26T12:00:02Z",
        "region": "us-east-1",
        "resources": [job["jobArn"]],
        "detail": {
            "jobArn": job["jobArn"],
            "jobName": job["jobName"],
            "jobId": job["jobId"],
            "jobQueue": job["jobQueue"],
            "status": status,
            "attempts": [],
            "createdAt": job["createdAt"],
            "parameters": job.get("parameters", {}),
            "jobDefinition": job["jobDefinition"],
            **detail,
        },
    }


def fresh_completion_handler() -> None:
    """Forget the completion handler's clients (ledger, manifests, publisher), built once per
    container as on Lambda: the next call builds them on the current AWS_ENDPOINT_URL, never on
    a proxy or server an earlier test closed."""
    from completion_lambda import handler

    for cached in (handler.ledger, handler.manifests, handler.publisher):
        cached.cache_clear()
