"""S3 "object created" notifications in every envelope they arrive in, as `ObjectVersion`s.

Shapes: S3 event notification 2.x (direct, or as an SQS body, or inside an SNS envelope in an SQS
body) and EventBridge "Object Created". Keys in notifications are URL-encoded with `+` for space;
EventBridge keys are not encoded.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from conveyor.errors import BadEvent
from conveyor.objects import ObjectVersion

logger = logging.getLogger(__name__)

TEST_EVENT = "s3:TestEvent"
"""What S3 sends once when a notification configuration is saved."""


@dataclass(frozen=True)
class ParsedMessage:
    """The versions a message announces, and why the rest of it was ignored."""

    versions: list[ObjectVersion] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def parse_body(body: str) -> ParsedMessage:
    """Parse one SQS message body."""
    try:
        message = json.loads(body)
    except json.JSONDecodeError as err:
        raise BadEvent(f"message body is not JSON: {err}") from err
    return parse_message(message)


def parse_message(message: Any) -> ParsedMessage:
    """Parse a notification delivered directly, through SNS, or by EventBridge."""
    if not isinstance(message, Mapping):
        raise BadEvent("notification is not a JSON object")
    if message.get("Event") == TEST_EVENT:
        return ParsedMessage(ignored=[f"{TEST_EVENT} for bucket {message.get('Bucket', '?')}"])
    if message.get("Type") == "Notification" and "Message" in message:
        return parse_body(message["Message"])
    if "detail-type" in message:
        return _parse_eventbridge(message)
    if "Records" in message:
        return _parse_records(message["Records"])
    raise BadEvent("not an S3 notification: no Records, no EventBridge detail, no TestEvent")


def _parse_records(records: Any) -> ParsedMessage:
    if not isinstance(records, list):
        raise BadEvent("Records is not a list")
    parsed = ParsedMessage()
    for record in records:
        try:
            name = record["eventName"]
            source = record.get("eventSource", "aws:s3")
            s3 = record["s3"]
            obj = s3["object"]
            if source != "aws:s3" or not name.startswith("ObjectCreated:"):
                parsed.ignored.append(f"{name} from {source}")
                continue
            version = ObjectVersion(
                bucket=s3["bucket"]["name"],
                key=unquote_plus(obj["key"]),
                etag=obj.get("eTag") or obj.get("etag") or "",
                size=int(obj.get("size", 0)),
                version_id=obj.get("versionId"),
                sequencer=obj.get("sequencer"),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise BadEvent(f"malformed S3 record: {err!r}") from err
        _keep(parsed, version)
    return parsed


def _parse_eventbridge(event: Mapping[str, Any]) -> ParsedMessage:
    parsed = ParsedMessage()
    if event.get("source") != "aws.s3" or event.get("detail-type") != "Object Created":
        parsed.ignored.append(f"{event.get('detail-type')} from {event.get('source')}")
        return parsed
    try:
        detail = event["detail"]
        obj = detail["object"]
        version = ObjectVersion(
            bucket=detail["bucket"]["name"],
            key=obj["key"],
            etag=obj.get("etag", ""),
            size=int(obj.get("size", 0)),
            version_id=obj.get("version-id"),
            sequencer=obj.get("sequencer"),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise BadEvent(f"malformed EventBridge Object Created event: {err!r}") from err
    _keep(parsed, version)
    return parsed


def _keep(parsed: ParsedMessage, version: ObjectVersion) -> None:
    if version.is_folder_marker:
        parsed.ignored.append(f"folder marker {version.uri}")
    elif not version.etag:
        raise BadEvent(f"S3 record for {version.uri} has no ETag")
    else:
        parsed.versions.append(version)
