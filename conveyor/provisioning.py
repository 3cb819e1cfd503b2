"""What the CDK stack and the local stack both set on the resources they create: one value each."""

from __future__ import annotations

from typing import Any

from conveyor.events.outcome import SOURCE

MAX_RECEIVE_COUNT = 5
"""Deliveries of one message before SQS moves it to the dead-letter queue."""
VISIBILITY_TIMEOUT = 180
"""Seconds: six times the trigger's 30 s timeout, as AWS advises for Lambda event sources."""
ABORT_MULTIPART_AFTER_DAYS = 1
"""Days before S3 aborts a multipart upload left unfinished (and frees its parts)."""
NONCURRENT_VERSION_DAYS = 30
"""Days S3 keeps a version after it is overwritten or deleted: long enough to recover an
overwrite (or for a queued job to read an older original), short enough not to pay forever."""
CORS_METHODS = ("PUT", "POST", "GET", "DELETE")
"""What a browser's multipart upload sends: PUT (parts, single PUT), POST (create and complete;
presigned POST), GET (list the parts to resume), DELETE (abort)."""
CORS_EXPOSED_HEADERS = ("ETag",)
"""CompleteMultipartUpload names each part by the ETag its PUT returned: a browser must read it."""
EVENTS_RETENTION_DAYS = 30
"""Days the events log group keeps Conveyor's events (as the stack's other logs)."""


def events_log_group(name: str) -> str:
    """The log group the events rule copies Conveyor's events to: `conveyor events` reads it."""
    return f"/conveyor/{name}/events"


def events_pattern(staging_bucket: str) -> dict[str, Any]:
    """The rule's pattern: Conveyor's events about this stack's staging bucket (another stack in
    the same account and region puts its own on the same default bus)."""
    return {"source": [SOURCE], "detail": {"bucket": [staging_bucket]}}
