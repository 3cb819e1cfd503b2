"""Provisioning creates what the handlers rely on, with the settings the CDK stack will use."""

from __future__ import annotations

import json

from conveyor.ledger.schema import BUCKET_INDEX, JOB_INDEX, STATUS_INDEX
from conveyor.provisioning import CORS_EXPOSED_HEADERS, CORS_METHODS, MAX_RECEIVE_COUNT
from conveyor_local.provision import provision
from tests.conftest import Stack


def test_resources_and_their_settings(stack: Stack) -> None:
    s = stack.settings
    for bucket in (s["CONVEYOR_STAGING_BUCKET"], s["CONVEYOR_ARCHIVE_BUCKET"]):
        assert stack.s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    rules = stack.s3.get_bucket_lifecycle_configuration(Bucket=stack.staging)["Rules"]
    assert rules[0]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 1
    [cors] = stack.s3.get_bucket_cors(Bucket=stack.staging)["CORSRules"]
    assert cors["ExposeHeaders"] == list(CORS_EXPOSED_HEADERS)
    assert sorted(cors["AllowedMethods"]) == sorted(CORS_METHODS)
    # Pages served from this machine only, never `*`; S3 allows one `*` per origin.
    assert cors["AllowedOrigins"] == ["http://localhost:*", "http://127.0.0.1:*"]
    [notification] = stack.s3.get_bucket_notification_configuration(Bucket=stack.staging)[
        "QueueConfigurations"
    ]
    assert notification["Events"] == ["s3:ObjectCreated:*"]

    attributes = stack.sqs.get_queue_attributes(QueueUrl=stack.queue_url, AttributeNames=["All"])[
        "Attributes"
    ]
    assert notification["QueueArn"] == attributes["QueueArn"]
    redrive = json.loads(attributes["RedrivePolicy"])
    assert int(redrive["maxReceiveCount"]) == MAX_RECEIVE_COUNT
    assert redrive["deadLetterTargetArn"].endswith("-staging-events-dlq")

    table = stack.dynamodb.describe_table(TableName=s["CONVEYOR_LEDGER_TABLE"])["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    indexes = {i["IndexName"]: i["KeySchema"] for i in table["GlobalSecondaryIndexes"]}
    assert set(indexes) == {STATUS_INDEX, BUCKET_INDEX, JOB_INDEX}
    assert [k["AttributeName"] for k in indexes[STATUS_INDEX]] == ["status", "updated_at"]


def test_provisioning_again_keeps_data(stack: Stack) -> None:
    stack.s3.put_object(Bucket=stack.staging, Key="keep.txt", Body=b"k")
    name = stack.staging.removesuffix("-staging")
    again = provision(s3=stack.s3, sqs=stack.sqs, dynamodb=stack.dynamodb, name=name)
    assert again.items() <= stack.settings.items()
    assert stack.s3.get_object(Bucket=stack.staging, Key="keep.txt")["Body"].read() == b"k"
