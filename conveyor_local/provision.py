"""Create the resources the handlers need on any S3/SQS/DynamoDB endpoint, as the CDK stack does.

Safe to run again: existing resources are kept and their settings re-applied.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from conveyor import settings
from conveyor.errors import ConfigError
from conveyor.ledger.schema import create_table_request
from conveyor.provisioning import (
    ABORT_MULTIPART_AFTER_DAYS,
    CORS_EXPOSED_HEADERS,
    CORS_METHODS,
    EVENTS_RETENTION_DAYS,
    MAX_RECEIVE_COUNT,
    VISIBILITY_TIMEOUT,
    events_log_group,
    events_pattern,
)
from conveyor.s3 import error_code

logger = logging.getLogger(__name__)

NOTIFICATION_ID = "conveyor-staging-object-created"
LOCAL_ORIGINS = ("http://localhost:*", "http://127.0.0.1:*")
"""A page served from this machine, on any port: S3 allows one `*` in an origin. Never `*` alone,
even though the local stack enforces no CORS, signatures or policies: it shows what to name."""
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,40}[a-z0-9]$")


@dataclass(frozen=True)
class Names:
    """Resource names derived from one stack name."""

    staging: str
    archive: str
    output: str
    queue: str
    dead_letters: str
    table: str

    @classmethod
    def of(cls, name: str) -> Names:
        if not _NAME.match(name):
            raise ConfigError(
                f"stack name {name!r} must be 3-42 characters of a-z, 0-9 and '-', "
                "starting and ending with a letter or digit (it prefixes bucket names)"
            )
        return cls(
            staging=f"{name}-staging",
            archive=f"{name}-archive",
            output=f"{name}-output",
            queue=f"{name}-staging-events",
            dead_letters=f"{name}-staging-events-dlq",
            table=f"{name}-ledger",
        )


def provision(
    *, s3: Any, sqs: Any, dynamodb: Any, name: str = "conveyor", web_origins: tuple[str, ...] = ()
) -> dict[str, str]:
    """Create or update everything and return the settings, keyed by CONVEYOR_* name; the staging
    bucket's CORS also names `web_origins` (the local page's), as the CDK stack names its page's."""
    names = Names.of(name)
    for bucket in (names.staging, names.archive, names.output):
        _bucket(s3, bucket)
    for bucket in (names.staging, names.archive):
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    _staging_rules(s3, names.staging, web_origins)
    queue_url, queue_arn = _queues(sqs, names, staging_arn=f"arn:aws:s3:::{names.staging}")
    s3.put_bucket_notification_configuration(
        Bucket=names.staging,
        NotificationConfiguration={
            "QueueConfigurations": [
                {"Id": NOTIFICATION_ID, "QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}
            ]
        },
    )
    _table(dynamodb, names.table)
    return {
        settings.STAGING_BUCKET: names.staging,
        settings.ARCHIVE_BUCKET: names.archive,
        settings.OUTPUT_BUCKET: names.output,
        settings.STAGING_QUEUE: queue_url,
        settings.LEDGER_TABLE: names.table,
    }


def provision_events(*, events: Any, logs: Any, name: str = "conveyor") -> dict[str, str]:
    """The rule on the default bus copying this stack's "Object Processed" / "Object Failed"
    events to a log group, where `conveyor events` reads them (as on AWS: infra/events.py)."""
    names = Names.of(name)
    group = events_log_group(name)
    try:
        logs.create_log_group(logGroupName=group)
    except ClientError as err:
        if error_code(err) != "ResourceAlreadyExistsException":
            raise
    logs.put_retention_policy(logGroupName=group, retentionInDays=EVENTS_RETENTION_DAYS)
    [found] = [
        g
        for g in logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
        if g["logGroupName"] == group
    ]
    rule = f"{name}-events"
    events.put_rule(
        Name=rule,
        EventPattern=json.dumps(events_pattern(names.staging)),
        State="ENABLED",
        Description="Conveyor's events about this stack's files, to the events log group",
    )
    events.put_targets(
        Rule=rule, Targets=[{"Id": "events-log", "Arn": found["arn"].removesuffix(":*")}]
    )
    return {settings.EVENTS_LOG_GROUP: group}


def _bucket(s3: Any, bucket: str) -> None:
    request: dict[str, Any] = {"Bucket": bucket}
    region = s3.meta.region_name
    if region and region != "us-east-1":
        request["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(**request)
    except ClientError as err:
        if error_code(err) != "BucketAlreadyOwnedByYou":
            raise
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )


def _staging_rules(s3: Any, bucket: str, web_origins: tuple[str, ...]) -> None:
    """Uploads left half-done are aborted; a local page may upload as the CDK stack's origins do."""
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "abort-incomplete-multipart-uploads",
                    "Status": "Enabled",
                    "Filter": {"Prefix": ""},
                    "AbortIncompleteMultipartUpload": {
                        "DaysAfterInitiation": ABORT_MULTIPART_AFTER_DAYS
                    },
                }
            ]
        },
    )
    s3.put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={
            "CORSRules": [
                {
                    "AllowedMethods": list(CORS_METHODS),
                    "AllowedOrigins": [*web_origins, *LOCAL_ORIGINS],
                    "AllowedHeaders": ["*"],
                    "ExposeHeaders": list(CORS_EXPOSED_HEADERS),
                    "MaxAgeSeconds": 3000,
                }
            ]
        },
    )


def _queues(sqs: Any, names: Names, *, staging_arn: str) -> tuple[str, str]:
    """Create the queue and its DLQ; return the queue's URL and ARN."""
    dlq_url = sqs.create_queue(QueueName=names.dead_letters)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = sqs.create_queue(QueueName=names.queue)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "StagingBucketNotifications",
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": staging_arn}},
            }
        ],
    }
    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={
            "VisibilityTimeout": str(VISIBILITY_TIMEOUT),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVE_COUNT)}
            ),
            "Policy": json.dumps(policy),
        },
    )
    return url, arn


def _table(dynamodb: Any, table: str) -> None:
    try:
        dynamodb.create_table(**create_table_request(table))
    except ClientError as err:
        if error_code(err) != "ResourceInUseException":
            raise
        logger.info("table %s exists", table)
    dynamodb.get_waiter("table_exists").wait(TableName=table)
