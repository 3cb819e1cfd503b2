"""The ledger in DynamoDB: conditional writes so that duplicates and late events are harmless."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from conveyor.clock import iso, utcnow
from conveyor.errors import ConveyorError
from conveyor.events.batch import JobStateChange
from conveyor.ledger import transitions
from conveyor.ledger.entries import Entry
from conveyor.ledger.schema import (
    BUCKET_INDEX,
    JOB_INDEX,
    PARTITION_KEY,
    SORT_KEY,
    STATUS_INDEX,
    primary_key,
)
from conveyor.objects import ObjectVersion
from conveyor.s3 import error_code
from conveyor.status import Status

logger = logging.getLogger(__name__)

Item = dict[str, Any]

CLAIM_LEASE = timedelta(minutes=2)
"""How long a claim blocks others when its holder died between claiming and submitting."""
WRITE_CONFLICT_RETRIES = 5
"""Concurrent writers of one item re-read and re-decide this many times before giving up."""

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class Ledger:
    """Reads and writes ledger items; every decision about their content is in `transitions`."""

    def __init__(
        self, client: Any, table_name: str, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._client = client
        self._table = table_name
        self._clock = clock

    # --- writes -------------------------------------------------------------------------------

    def claim(self, version: ObjectVersion, *, transform: str) -> Item | None:
        """Take the right to submit the one job of `version`; None when someone else holds it.

        Returns the claimed item, also when a retry of this very claim found it already made.
        """
        now = self._clock()
        item = {
            **_version_fields(version),
            "transform": transform,
            "claim_token": uuid.uuid4().hex,
            "claim_expires": int((now + CLAIM_LEASE).timestamp()),
            "created_at": iso(now),
            "revision": 0,
        }
        return self._put(
            item,
            "attribute_not_exists(#pk) OR (attribute_not_exists(job_id) AND claim_expires < :now)",
            {":now": int(now.timestamp())},
        )

    def release(self, claimed: Mapping[str, Any], reason: str) -> None:
        """Give a claim back at once (SubmitJob failed) so the next delivery can submit.

        Its condition still holds after it ran: a retry after a lost response just runs again.
        """
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_serialize(_key_of(claimed)),
                UpdateExpression="SET claim_expires = :zero, last_error = :reason",
                ConditionExpression="claim_token = :token AND attribute_not_exists(job_id)",
                ExpressionAttributeValues=_serialize(
                    {":zero": 0, ":reason": reason, ":token": claimed["claim_token"]}
                ),
            )
        except ClientError as err:
            if error_code(err) != "ConditionalCheckFailedException":
                raise
            logger.info("claim on %s was already superseded", claimed[PARTITION_KEY])

    def record_skipped(self, version: ObjectVersion, reason: str) -> bool:
        """Record a version no route wants; False when the version was already known."""
        now = iso(self._clock())
        item = {
            **_version_fields(version),
            "status": Status.SKIPPED.value,
            "status_reason": reason,
            "created_at": now,
            "updated_at": now,
            "history": [{"at": now, "status": Status.SKIPPED.value, "reason": reason}],
            "revision": 1,
        }
        return self._put(item, "attribute_not_exists(#pk)", {}) is not None

    def apply(self, change: JobStateChange, *, current: Mapping[str, Any] | None = None) -> bool:
        """Apply a job state change if it moves the version forward; False if stale or duplicate.

        Read, decide with the pure rules, write on condition that nobody wrote in between; on a
        conflict, read again and decide again.
        """
        key = transitions.identity_fields(
            bucket=change.parameters["bucket"],
            key=change.parameters["key"],
            version_id=change.parameters.get("version_id") or None,
            etag=change.parameters.get("etag", ""),
        )
        known = dict(current) if current is not None else None
        for _ in range(WRITE_CONFLICT_RETRIES):
            if known is None:
                known = self.get(key[PARTITION_KEY], key[SORT_KEY])
            new = transitions.apply(known, change, iso(self._clock()))
            if new is None:
                return False
            if known is None:
                condition, values = "attribute_not_exists(#pk)", {}
            else:
                condition, values = "revision = :rev", {":rev": known.get("revision", 0)}
            if self._put(new, condition, values) is not None:
                return True
            known = None
        raise ConveyorError(
            f"ledger item {key[PARTITION_KEY]} kept changing under {WRITE_CONFLICT_RETRIES} writes"
        )

    def annotate(self, key: Mapping[str, str], fields: Mapping[str, Any]) -> bool:
        """Add facts (output, archive, metrics, error) to an existing item; False if it has none.

        `key` is the item's primary key (see `transitions.identity_fields`).
        """
        names = {f"#f{i}": name for i, name in enumerate(fields)}
        values = {f":v{i}": value for i, value in enumerate(fields.values())}
        assignments = ", ".join(f"{n} = {v}" for n, v in zip(names, values, strict=True))
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_serialize(_key_of(key)),
                UpdateExpression=f"SET {assignments}, updated_at = :now",
                ConditionExpression="attribute_exists(#pk)",
                ExpressionAttributeNames={**names, "#pk": PARTITION_KEY},
                ExpressionAttributeValues=_serialize({**values, ":now": iso(self._clock())}),
            )
        except ClientError as err:
            if error_code(err) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def progress(self, key: Mapping[str, str], job_id: str, percent: float) -> bool:
        """Record how far the running job is; False (nothing written) unless the item is this
        job's and RUNNING, so a late write never lands on a newer job or a finished one.

        `updated_at` and `revision` stay: progress is no state change (listings keep their
        order, and the next state change simply replaces it, see `transitions.PROGRESS_FIELDS`).
        """
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_serialize(_key_of(key)),
                UpdateExpression="SET progress = :percent, progress_at = :now",
                ConditionExpression="job_id = :job AND #status = :running",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=_serialize(
                    {
                        ":percent": float(percent),
                        ":now": iso(self._clock()),
                        ":job": job_id,
                        ":running": Status.RUNNING.value,
                    }
                ),
            )
        except ClientError as err:
            if error_code(err) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def begin_retry(self, key: Mapping[str, str], job_id: str, stale_after: float) -> bool:
        """Mark a FAILED item as being resubmitted, once: False when it is not `job_id`'s FAILED
        item any more, or another retry marked it less than `stale_after` seconds ago (two clicks,
        two tabs: one SubmitJob, not two). The new job's state change drops the mark
        (`transitions.RETRY_FIELDS`); a retry that died before it goes stale."""
        now = self._clock()
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_serialize(_key_of(key)),
                UpdateExpression="SET retry_started_at = :now",
                ConditionExpression="job_id = :job AND #status = :failed AND "
                "(attribute_not_exists(retry_started_at) OR retry_started_at < :stale)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=_serialize(
                    {
                        ":now": iso(now),
                        ":stale": iso(now - timedelta(seconds=stale_after)),
                        ":job": job_id,
                        ":failed": Status.FAILED.value,
                    }
                ),
            )
        except ClientError as err:
            if error_code(err) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # --- reads --------------------------------------------------------------------------------

    def get(self, partition: str, sort: str) -> Entry | None:
        response = self._client.get_item(
            TableName=self._table,
            Key=_serialize({PARTITION_KEY: partition, SORT_KEY: sort}),
            ConsistentRead=True,
        )
        return Entry(_deserialize(response["Item"])) if "Item" in response else None

    def versions_of(self, bucket: str, key: str) -> list[Entry]:
        """Every version of one object that the ledger knows, newest update first."""
        items = self._query(
            KeyConditionExpression="#pk = :pk",
            ExpressionAttributeNames={"#pk": PARTITION_KEY},
            ExpressionAttributeValues=_serialize({":pk": primary_key(bucket, key, "")["pk"]}),
        )
        return sorted(items, key=lambda entry: entry.updated_at, reverse=True)

    def find_job(self, job_id: str) -> list[Entry]:
        return list(
            self._query(
                IndexName=JOB_INDEX,
                KeyConditionExpression="job_id = :job",
                ExpressionAttributeValues=_serialize({":job": job_id}),
            )
        )

    def by_status(
        self, status: Status, *, since: str | None = None, key_prefix: str | None = None
    ) -> Iterator[Entry]:
        """Versions in one status, newest update first, from the status index."""
        condition, values = "#status = :status", {":status": status.value}
        if since:
            condition += " AND updated_at >= :since"
            values[":since"] = since
        request: dict[str, Any] = {
            "IndexName": STATUS_INDEX,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": {"#status": "status"},
            "ScanIndexForward": False,
        }
        if key_prefix:
            request["FilterExpression"] = "begins_with(object_key, :prefix)"
            values[":prefix"] = key_prefix
        return self._query(**request, ExpressionAttributeValues=_serialize(values))

    def under_prefix(
        self, bucket: str, key_prefix: str, *, since: str | None = None
    ) -> Iterator[Entry]:
        """Versions whose key starts with `key_prefix`, in key order, from the bucket index."""
        values: dict[str, Any] = {":bucket": bucket, ":prefix": key_prefix}
        request: dict[str, Any] = {
            "IndexName": BUCKET_INDEX,
            "KeyConditionExpression": "#bucket = :bucket AND begins_with(object_key, :prefix)",
            "ExpressionAttributeNames": {"#bucket": "bucket"},
        }
        if since:
            request["FilterExpression"] = "updated_at >= :since"
            values[":since"] = since
        return self._query(**request, ExpressionAttributeValues=_serialize(values))

    # --- plumbing -----------------------------------------------------------------------------

    def _put(self, item: Item, condition: str, values: Mapping[str, Any]) -> Item | None:
        """Conditional put; the item as written, or None when the condition failed because of
        another writer (a duplicate or a concurrent one).

        Each put carries a fresh token: when botocore retries a put whose response was lost, the
        retry fails its condition on our own write, and the old item DynamoDB returns shows it.
        """
        token = uuid.uuid4().hex
        item = {**item, transitions.WRITE_TOKEN: token}
        request: dict[str, Any] = {
            "TableName": self._table,
            "Item": _serialize({k: v for k, v in item.items() if v is not None}),
            "ConditionExpression": condition,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if "#pk" in condition:
            request["ExpressionAttributeNames"] = {"#pk": PARTITION_KEY}
        if values:
            request["ExpressionAttributeValues"] = _serialize(values)
        try:
            self._client.put_item(**request)
        except ClientError as err:
            if error_code(err) != "ConditionalCheckFailedException":
                raise
            stored = _deserialize(err.response["Item"]) if "Item" in err.response else None
            if not transitions.own_write(stored, token):
                return None
            logger.info("%s: a retried write found its own earlier success", item[PARTITION_KEY])
        return item

    def _query(self, **request: Any) -> Iterator[Entry]:
        paginator = self._client.get_paginator("query")
        for page in paginator.paginate(TableName=self._table, **request):
            for raw in page.get("Items", []):
                yield Entry(_deserialize(raw))


def _key_of(item: Mapping[str, Any]) -> dict[str, Any]:
    return {PARTITION_KEY: item[PARTITION_KEY], SORT_KEY: item[SORT_KEY]}


def _serialize(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(_storable(v)) for k, v in values.items()}


def _storable(value: Any) -> Any:
    """DynamoDB takes no float: store it as a Decimal of its shortest repr."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(v) for v in value]
    return value


def _deserialize(raw: Mapping[str, Any]) -> Item:
    return {k: _plain(_deserializer.deserialize(v)) for k, v in raw.items()}


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal: integers as int, the rest as float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _version_fields(version: ObjectVersion) -> dict[str, Any]:
    """The item's key and what the event said of the version: the start of every new item."""
    return {
        **transitions.identity_fields(
            bucket=version.bucket,
            key=version.key,
            version_id=version.version_id,
            etag=version.etag,
        ),
        "size": version.size,
        "sequencer": version.sequencer,
    }
