"""The ledger table's keys and indexes: one definition for the store, provisioning and CDK."""

from __future__ import annotations

from typing import Any

PARTITION_KEY = "pk"
"""`bucket/key`: all versions of one object share a partition; `conveyor show KEY` is one Query."""
SORT_KEY = "sk"
"""`v#<version id>`, or `e#<ETag>` on a bucket without versioning."""

STATUS_INDEX = "by_status"
"""status + updated_at: "all FAILED since T" without a Scan."""
BUCKET_INDEX = "by_bucket"
"""bucket + object_key: "everything under prefix P" without a Scan."""
JOB_INDEX = "by_job"
"""job_id: `conveyor show JOB_ID`."""

INDEXES: dict[str, tuple[str, str | None]] = {
    STATUS_INDEX: ("status", "updated_at"),
    BUCKET_INDEX: ("bucket", "object_key"),
    JOB_INDEX: ("job_id", None),
}


def primary_key(bucket: str, key: str, ref: str) -> dict[str, str]:
    return {PARTITION_KEY: f"{bucket}/{key}", SORT_KEY: ref}


def create_table_request(table_name: str) -> dict[str, Any]:
    """The CreateTable arguments: on-demand billing, every index projecting all attributes."""
    attributes = {PARTITION_KEY, SORT_KEY}
    indexes = []
    for name, (hash_key, range_key) in INDEXES.items():
        schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
        attributes.add(hash_key)
        if range_key:
            schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
            attributes.add(range_key)
        indexes.append(
            {"IndexName": name, "KeySchema": schema, "Projection": {"ProjectionType": "ALL"}}
        )
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": "S"} for name in sorted(attributes)
        ],
        "KeySchema": [
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": indexes,
    }
