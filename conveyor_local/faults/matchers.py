"""Predicates on requests for `LoseResponse`: the conditional writes whose retry after a lost
answer must recognise its own write (design invariant 8)."""

from __future__ import annotations

from collections.abc import Callable

from conveyor_local.faults.request import Request


def dynamodb_conditional(operation: str) -> Callable[[Request], bool]:
    """A DynamoDB `operation` (PutItem, UpdateItem) that carries a ConditionExpression."""
    return lambda r: r.dynamodb_target == operation and b'"ConditionExpression"' in r.body


def s3_conditional_put(r: Request) -> bool:
    """PutObject with If-None-Match or If-Match (a conditional output commit)."""
    return r.operation == "PutObject" and ("if-none-match" in r.headers or "if-match" in r.headers)


def s3_complete_multipart(r: Request) -> bool:
    return r.operation == "CompleteMultipartUpload"
