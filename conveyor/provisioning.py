"""What the CDK stack and the local stack both set on the resources they create: one value each."""

from __future__ import annotations

MAX_RECEIVE_COUNT = 5
"""Deliveries of one message before SQS moves it to the dead-letter queue."""
VISIBILITY_TIMEOUT = 180
"""Seconds: six times the trigger's 30 s timeout, as AWS advises for Lambda event sources."""
ABORT_MULTIPART_AFTER_DAYS = 1
"""Days before S3 aborts a multipart upload left unfinished (and frees its parts)."""
