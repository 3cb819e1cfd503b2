"""The ledger in DynamoDB: conditional writes so that duplicates and late events are harmless."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
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
TRANSACTION_LIMIT = 100
"""TransactWriteItems takes at most this many writes a call."""

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

        `key` is the item's primary key (see `transitions.identity_fields`). `revision` moves: a
        state change read before the facts landed (the completion, racing a worker that records
        its probe while its RUNNING event is applied) fails its condition and reads again, instead
        of putting the item back without them.
        """
        names = {f"#f{i}": name for i, name in enumerate(fields)}
        values = {f":v{i}": value for i, value in enumerate(fields.values())}
        assignments = ", ".join(f"{n} = {v}" for n, v in zip(names, values, strict=True))
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_serialize(_key_of(key)),
                UpdateExpression=(
                    f"SET {assignments}, updated_at = :now, "
                    "revision = if_not_exists(revision, :zero) + :one"
                ),
                ConditionExpression="attribute_exists(#pk)",
                ExpressionAttributeNames={**names, "#pk": PARTITION_KEY},
                ExpressionAttributeValues=_serialize(
                    {**values, ":now": iso(self._clock()), ":zero": 0, ":one": 1}
                ),
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

    def mark(
        self, key: Mapping[str, str], job_id: str, status: str, field: str, value: str
    ) -> bool:
        """Set `field` to `value` on the item while it is still `job_id`'s in `status`; False when
        it is not (a newer job took the version over). `revision` moves, so a writer that read
        the item before cannot put it back without the mark; `updated_at` stays (no new state)."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_serialize(_key_of(key)),
                UpdateExpression="SET #field = :value, revision = revision + :one",
                ConditionExpression="job_id = :job AND #status = :status",
                ExpressionAttributeNames={"#field": field, "#status": "status"},
                ExpressionAttributeValues=_serialize(
                    {":value": value, ":one": 1, ":job": job_id, ":status": status}
                ),
            )
        except ClientError as err:
            if error_code(err) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # --- batched writes (bulk resubmission: conveyor.bulk) -------------------------------------

    def claim_failed_many(
        self, claims: Sequence[tuple[Mapping[str, Any], str]], stale_after: float
    ) -> list[bool]:
        """`begin_retry` for many FAILED items at once, each claim also naming `claim_token`
        (a bulk and an index): True where the claim was made. TransactWriteItems of
        TRANSACTION_LIMIT; a refused transaction (one condition failed) is redone item by item,
        so the others still go, and a retry meeting its own claim knows it as its own."""
        now = self._clock()
        shared = {
            ":now": iso(now),
            ":stale": iso(now - timedelta(seconds=stale_after)),
            ":failed": Status.FAILED.value,
        }
        writes = [
            _Write(
                "Update",
                {
                    "TableName": self._table,
                    "Key": _serialize(_key_of(item)),
                    "UpdateExpression": "SET retry_started_at = :now, claim_token = :token",
                    "ConditionExpression": "job_id = :job AND #status = :failed AND "
                    "(attribute_not_exists(retry_started_at) OR retry_started_at < :stale)",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": _serialize(
                        {**shared, ":job": item.get("job_id") or "", ":token": token}
                    ),
                },
                _claimed_by(token),
            )
            for item, token in claims
        ]
        return self._write_many(writes)

    def claim_many(self, claims: Sequence[tuple[ObjectVersion, str, str]]) -> list[Item | None]:
        """`claim` for many new versions at once, `(version, transform, claim_token)` each:
        the claimed item, or None where someone else (the trigger) holds the version."""
        now = self._clock()
        items = [
            {
                **_version_fields(version),
                "transform": transform,
                "claim_token": token,
                "claim_expires": int((now + CLAIM_LEASE).timestamp()),
                "created_at": iso(now),
                "revision": 0,
            }
            for version, transform, token in claims
        ]
        writes = [
            _Write(
                "Put",
                {
                    "TableName": self._table,
                    "Item": _serialize({k: v for k, v in item.items() if v is not None}),
                    "ConditionExpression": "attribute_not_exists(#pk) OR "
                    "(attribute_not_exists(job_id) AND claim_expires < :now)",
                    "ExpressionAttributeNames": {"#pk": PARTITION_KEY},
                    "ExpressionAttributeValues": _serialize({":now": int(now.timestamp())}),
                },
                _claimed_by(item["claim_token"]),
            )
            for item in items
        ]
        done = self._write_many(writes)
        return [item if ok else None for item, ok in zip(items, done, strict=True)]

    def reclaim_many(self, moves: Sequence[tuple[Mapping[str, Any], str]]) -> list[bool]:
        """Give claims this holder made a new token (a bulk's index moved): conditional on the
        claim still being the one it made."""
        writes = [
            _Write(
                "Update",
                {
                    "TableName": self._table,
                    "Key": _serialize(_key_of(item)),
                    "UpdateExpression": "SET claim_token = :new",
                    "ConditionExpression": "claim_token = :old",
                    "ExpressionAttributeValues": _serialize(
                        {":new": token, ":old": item["claim_token"]}
                    ),
                },
                _claimed_by(token),
            )
            for item, token in moves
        ]
        return self._write_many(writes)

    def renew_many(self, claimed: Sequence[Mapping[str, Any]]) -> list[bool]:
        """Make claims this holder made fresh again (a long bulk run), only where they are still
        its own: a retry's mark (`retry_started_at`) or a new version's lease (`claim_expires`)."""
        now = self._clock()
        writes = []
        for item in claimed:
            if "retry_started_at" in item:
                update, value = "SET retry_started_at = :fresh", iso(now)
            else:
                update, value = "SET claim_expires = :fresh", int((now + CLAIM_LEASE).timestamp())
            writes.append(
                _Write(
                    "Update",
                    {
                        "TableName": self._table,
                        "Key": _serialize(_key_of(item)),
                        "UpdateExpression": update,
                        "ConditionExpression": "claim_token = :token",
                        "ExpressionAttributeValues": _serialize(
                            {":fresh": value, ":token": item["claim_token"]}
                        ),
                    },
                    _claimed_by(item["claim_token"]),
                )
            )
        return self._write_many(writes)

    def release_many(self, claimed: Sequence[Mapping[str, Any]], reason: str) -> list[bool]:
        """Give back claims whose job was never submitted, so the next run (or the trigger's
        next delivery) may take them at once: only where the claim is still the one made."""
        writes = [
            _Write(
                "Update",
                {
                    "TableName": self._table,
                    "Key": _serialize(_key_of(item)),
                    "UpdateExpression": "REMOVE retry_started_at, claim_token "
                    "SET claim_expires = :zero, last_error = :reason",
                    "ConditionExpression": "claim_token = :token",
                    "ExpressionAttributeValues": _serialize(
                        {":zero": 0, ":reason": reason, ":token": item["claim_token"]}
                    ),
                },
                lambda stored: stored is not None and "claim_token" not in stored,
            )
            for item in claimed
        ]
        return self._write_many(writes)

    def apply_claimed_many(
        self, changes: Sequence[tuple[Mapping[str, Any], JobStateChange]]
    ) -> list[bool]:
        """`apply` for many claimed items at once, `(claimed item, change)` each, on condition
        that the claim is still the one in the item: True where the item now names the
        change's job (written here, or already by the job's own event).

        The new items are `transitions.apply`'s; a refused transaction is redone item by item,
        each re-reading and re-deciding on a conflict, as `apply` does."""
        now = iso(self._clock())
        results: list[bool | None] = []
        writes: list[_Write] = []
        where: list[int] = []
        for current, change in changes:
            new = transitions.apply(current, change, now)
            if new is None:
                results.append(current.get("job_id") == change.job_id)
                continue
            where.append(len(results))
            results.append(None)
            writes.append(self._claimed_put(current, change, new))
        for index, ok in zip(where, self._write_many(writes), strict=True):
            results[index] = ok
        return [bool(r) for r in results]

    def _claimed_put(self, current: Mapping[str, Any], change: JobStateChange, new: Item) -> _Write:
        token = uuid.uuid4().hex
        item = {**new, transitions.WRITE_TOKEN: token}
        claim = current["claim_token"]

        def redo(stored: Item | None) -> bool:
            """After a refused put: ours after all, the job's own event first, or decide again
            while the claim holds."""
            for _ in range(WRITE_CONFLICT_RETRIES):
                if transitions.own_write(stored, token):
                    return True
                if stored is None or stored.get("claim_token") != claim:
                    return stored is not None and stored.get("job_id") == change.job_id
                again = transitions.apply(stored, change, iso(self._clock()))
                if again is None:
                    return stored.get("job_id") == change.job_id
                if self._put(again, *_claim_condition(stored)) is not None:
                    return True
                stored = self.get(stored[PARTITION_KEY], stored[SORT_KEY])
            return False

        condition, values = _claim_condition(current)
        return _Write(
            "Put",
            {
                "TableName": self._table,
                "Item": _serialize({k: v for k, v in item.items() if v is not None}),
                "ConditionExpression": condition,
                "ExpressionAttributeValues": _serialize(values),
            },
            redo,
        )

    def _write_many(self, writes: Sequence[_Write]) -> list[bool]:
        """Each chunk of TRANSACTION_LIMIT in one TransactWriteItems; a chunk DynamoDB cancels
        (a condition failed, or a conflicting transaction) is redone one write at a time."""
        done: list[bool] = []
        for start in range(0, len(writes), TRANSACTION_LIMIT):
            chunk = writes[start : start + TRANSACTION_LIMIT]
            try:
                self._client.transact_write_items(
                    TransactItems=[{write.kind: write.request} for write in chunk]
                )
            except ClientError as err:
                if error_code(err) != "TransactionCanceledException":
                    raise
                done += [self._write_one(write) for write in chunk]
                continue
            done += [True] * len(chunk)
        return done

    def _write_one(self, write: _Write) -> bool:
        call = self._client.put_item if write.kind == "Put" else self._client.update_item
        try:
            call(**write.request, ReturnValuesOnConditionCheckFailure="ALL_OLD")
        except ClientError as err:
            if error_code(err) != "ConditionalCheckFailedException":
                raise
            stored = _deserialize(err.response["Item"]) if "Item" in err.response else None
            return write.settle(stored)
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


@dataclass(frozen=True)
class _Write:
    """One conditional write of a batch, and what a refused one means: `settle(stored)` says,
    from the item as it is, whether the write's purpose is met anyway (our own earlier write
    whose answer was lost, for one)."""

    kind: str
    """"Put" or "Update", as TransactWriteItems names them."""
    request: dict[str, Any]
    settle: Callable[[Item | None], bool]


def _claimed_by(token: str) -> Callable[[Item | None], bool]:
    return lambda stored: stored is not None and stored.get("claim_token") == token


def _claim_condition(current: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Nobody wrote since `current` was read, and its claim still holds."""
    return "revision = :rev AND claim_token = :claim", {
        ":rev": current.get("revision", 0),
        ":claim": current["claim_token"],
    }


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
