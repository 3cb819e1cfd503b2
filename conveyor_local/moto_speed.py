"""moto answers every DynamoDB call through its generic, model-driven serializer, which walks
each attribute value of each item against the API's shapes: ~10 ms per ledger item, so listing
10,000 entries costs minutes where DynamoDB takes a second. DynamoDB's answers are already JSON
in the wire's shape once moto has made them plain (DynamoResult), so for the item-heavy reads
this writes that JSON directly. Used by the bulk benchmark's moto (bench/bulk.py), whose point
is to count and time what Conveyor asks, not moto's serializer."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

ITEM_READS = frozenset({"Query", "Scan", "GetItem", "BatchGetItem"})


def apply() -> None:
    """Patch moto's DynamoDB results in this process (idempotent)."""
    from moto.dynamodb.responses import DynamoResult

    original = DynamoResult.execute_result
    if getattr(original, "conveyor_fix", False):
        return

    def execute_result(self: Any, context: Any) -> Any:
        if context.operation_model.name not in ITEM_READS:
            return original(self, context)
        try:
            body = json.dumps(self.result, default=_plain, separators=(",", ":"))
        except TypeError:
            return original(self, context)
        return 200, {"Content-Type": "application/x-amz-json-1.0"}, body

    execute_result.conveyor_fix = True  # type: ignore[attr-defined]
    DynamoResult.execute_result = execute_result  # type: ignore[method-assign]


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(type(value).__name__)
