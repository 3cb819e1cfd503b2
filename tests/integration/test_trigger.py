"""The trigger handler fed by real S3 uploads through the moto server's SQS queue."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from conveyor import submit_once
from conveyor.aws import client
from conveyor.jobs import PARAMETERS
from conveyor.ledger.store import Ledger
from tests.conftest import Stack
from tests.integration.helpers import all_jobs, sqs_event
from trigger_lambda import handler as trigger_handler

COPY_EVERYTHING = json.dumps([{"match": "*", "transform": "copy"}])


@pytest.fixture
def handler(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("CONVEYOR_ROUTES", COPY_EVERYTHING)
    trigger_handler.trigger.cache_clear()
    yield trigger_handler.handler
    trigger_handler.trigger.cache_clear()


def queue_arn(stack: Stack) -> str:
    attributes = stack.sqs.get_queue_attributes(
        QueueUrl=stack.queue_url, AttributeNames=["QueueArn"]
    )
    return attributes["Attributes"]["QueueArn"]


def deliver(stack: Stack, handler: Any, messages: list[dict[str, Any]]) -> list[str]:
    """Run the handler on one SQS batch; return the message ids it reported as failed."""
    response = handler(sqs_event(messages, queue_arn(stack)), None)
    return [f["itemIdentifier"] for f in response["batchItemFailures"]]


def ledger(stack: Stack) -> Ledger:
    return Ledger(client("dynamodb"), stack.settings["CONVEYOR_LEDGER_TABLE"])


def jobs_by_key(stack: Stack) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for job in all_jobs(stack.batch, stack.settings["CONVEYOR_JOB_QUEUE"]):
        found.setdefault(job["parameters"]["key"], []).append(job)
    return found


KEYS = [
    "plain.txt",
    "with space/and more spaces.txt",
    "plus+sign+and%percent.csv",
    "ünïcödé/日本語/ファイル.mov",
    "ctrl/esc\x1b[2Jx\x01.mov",  # listed URL-encoded: XML cannot carry ESC
    "deep/" + "x" * 1019,  # 1,024 bytes, S3's longest key
]


def test_multi_record_batch_submits_one_job_each_with_exact_parameters(
    stack: Stack, handler: Any
) -> None:
    uploaded = {}
    for key in KEYS:
        response = stack.s3.put_object(Bucket=stack.staging, Key=key, Body=key.encode())
        uploaded[key] = response
    assert len(KEYS[-1].encode()) == 1024
    messages = stack.receive_all(expected=len(KEYS))
    assert len(messages) == len(KEYS)

    assert deliver(stack, handler, messages) == []

    jobs = jobs_by_key(stack)
    assert sorted(jobs) == sorted(KEYS)
    for key, response in uploaded.items():
        [job] = jobs[key]
        params = job["parameters"]
        assert params["bucket"] == stack.staging
        assert params["version_id"] == response["VersionId"]  # pinned although moto sent none
        assert params["etag"] == response["ETag"].strip('"')
        assert params["transform"] == "copy"
        assert set(params) == set(PARAMETERS)
        assert len(job["jobName"]) <= 128
        [item] = ledger(stack).versions_of(stack.staging, key)
        assert item["status"] == "SUBMITTED" and item["job_id"] == job["jobId"]
        assert item["size"] == len(key.encode())


def test_duplicate_delivery_submits_nothing(stack: Stack, handler: Any) -> None:
    stack.s3.put_object(Bucket=stack.staging, Key="twice.txt", Body=b"1")
    [message] = stack.receive_all(expected=1)
    assert deliver(stack, handler, [message]) == []
    assert deliver(stack, handler, [message, message]) == []
    assert len(jobs_by_key(stack)["twice.txt"]) == 1


def test_multipart_upload_sends_two_messages_but_gets_one_job(stack: Stack, handler: Any) -> None:
    upload = stack.s3.create_multipart_upload(Bucket=stack.staging, Key="big/upload.bin")
    part = stack.s3.upload_part(
        Bucket=stack.staging,
        Key="big/upload.bin",
        UploadId=upload["UploadId"],
        PartNumber=1,
        Body=b"z" * 1000,
    )
    stack.s3.complete_multipart_upload(
        Bucket=stack.staging,
        Key="big/upload.bin",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    messages = stack.receive_all(expected=2, wait=3)
    assert len(messages) == 2, "moto sends two ObjectCreated messages for a multipart upload"
    assert deliver(stack, handler, messages) == []
    assert len(jobs_by_key(stack)["big/upload.bin"]) == 1


def test_test_events_zero_byte_objects_and_folder_markers(stack: Stack, handler: Any) -> None:
    stack.s3.put_object(Bucket=stack.staging, Key="empty.txt", Body=b"")
    stack.s3.put_object(Bucket=stack.staging, Key="a folder/", Body=b"")
    configuration = stack.s3.get_bucket_notification_configuration(Bucket=stack.staging)
    configuration.pop("ResponseMetadata")
    # Saving the configuration again makes S3 send an s3:TestEvent.
    stack.s3.put_bucket_notification_configuration(
        Bucket=stack.staging, NotificationConfiguration=configuration
    )
    messages = stack.receive_all(expected=3)
    bodies = [json.loads(m["Body"]) for m in messages]
    assert any(b.get("Event") == "s3:TestEvent" for b in bodies)

    assert deliver(stack, handler, messages) == []
    assert list(jobs_by_key(stack)) == ["empty.txt"]  # the zero-byte file is still work
    assert ledger(stack).versions_of(stack.staging, "a folder/") == []


def test_a_key_under_the_reserved_prefix_is_never_processed(
    stack: Stack, handler: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its original would land among the archive's manifests, where a newer "version" of a
    manifest would be what array children read."""
    monkeypatch.setenv("CONVEYOR_ROUTES", COPY_EVERYTHING)
    trigger_handler.trigger.cache_clear()
    key = ".conveyor/manifests/forged.jsonl"
    stack.s3.put_object(Bucket=stack.staging, Key=key, Body=b"{}")
    assert deliver(stack, handler, stack.receive_all(expected=1)) == []
    assert jobs_by_key(stack) == {}
    [item] = ledger(stack).versions_of(stack.staging, key)
    assert item["status"] == "SKIPPED" and "reserved" in item["status_reason"]
    assert stack.s3.head_object(Bucket=stack.staging, Key=key)["ContentLength"] == 2


def test_no_route_is_recorded_skipped_and_the_object_stays(
    stack: Stack, handler: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVEYOR_ROUTES", json.dumps([{"match": "*.mov", "transform": "copy"}]))
    trigger_handler.trigger.cache_clear()
    stack.s3.put_object(Bucket=stack.staging, Key="notes.txt", Body=b"n")
    messages = stack.receive_all(expected=1)
    assert deliver(stack, handler, messages) == []
    assert jobs_by_key(stack) == {}
    [item] = ledger(stack).versions_of(stack.staging, "notes.txt")
    assert (item["status"], item["status_reason"]) == ("SKIPPED", "no route")
    assert stack.s3.head_object(Bucket=stack.staging, Key="notes.txt")["ContentLength"] == 1
    # A second delivery neither submits nor rewrites it.
    assert deliver(stack, handler, messages) == []
    assert ledger(stack).versions_of(stack.staging, "notes.txt")[0]["revision"] == 1


def test_one_bad_record_never_blocks_the_others(stack: Stack, handler: Any) -> None:
    stack.s3.put_object(Bucket=stack.staging, Key="good-1.txt", Body=b"1")
    stack.s3.put_object(Bucket=stack.staging, Key="good-2.txt", Body=b"2")
    messages = stack.receive_all(expected=2)
    poison = dict(messages[0], MessageId="poison-message", Body="{not json", MD5OfBody="x")
    stranger = dict(messages[0], MessageId="stranger", Body=json.dumps({"hello": 1}))
    failed = deliver(stack, handler, [messages[0], poison, stranger, messages[1]])
    assert sorted(failed) == ["poison-message", "stranger"]
    assert sorted(jobs_by_key(stack)) == ["good-1.txt", "good-2.txt"]


class Throttled:
    """The Batch client, throttled for its first `times` SubmitJob calls (botocore never retries
    SubmitJob: conveyor.submit_once does, after looking for the job)."""

    def __init__(self, real: Any, times: int) -> None:
        self.real, self.left = real, times
        self.meta = real.meta

    def get_paginator(self, name: str) -> Any:
        return self.real.get_paginator(name)

    def submit_job(self, **kwargs: Any) -> Any:
        if self.left:
            self.left -= 1
            raise ClientError(
                {"Error": {"Code": "TooManyRequestsException", "Message": "Too Many Requests"}},
                "SubmitJob",
            )
        return self.real.submit_job(**kwargs)


def test_throttled_submit_is_retried_without_a_duplicate(
    stack: Stack, handler: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack.s3.put_object(Bucket=stack.staging, Key="busy.txt", Body=b"b")
    stack.s3.put_object(Bucket=stack.staging, Key="calm.txt", Body=b"c")
    messages = sorted(stack.receive_all(expected=2), key=lambda m: "busy" not in m["Body"])
    trigger = trigger_handler.trigger()
    monkeypatch.setattr(submit_once, "backoff", lambda attempt: 0.0)
    trigger.batch = Throttled(trigger.batch, times=submit_once.ATTEMPTS)

    assert deliver(stack, handler, messages) == [messages[0]["MessageId"]]
    [claimed] = ledger(stack).versions_of(stack.staging, "busy.txt")
    assert "job_id" not in claimed
    assert claimed["last_error"] == "SubmitJob failed: TooManyRequestsException"

    # SQS delivers the failed message again: the released claim does not block it.
    assert deliver(stack, handler, [messages[0]]) == []
    assert deliver(stack, handler, messages) == []  # and everything again, for good measure
    jobs = jobs_by_key(stack)
    assert len(jobs["busy.txt"]) == 1 and len(jobs["calm.txt"]) == 1
    assert ledger(stack).versions_of(stack.staging, "busy.txt")[0]["status"] == "SUBMITTED"


def test_direct_s3_notification(stack: Stack, handler: Any) -> None:
    stack.s3.put_object(Bucket=stack.staging, Key="direct/one two.txt", Body=b"d")
    [message] = stack.receive_all(expected=1)
    assert handler(json.loads(message["Body"]), None) == {"outcomes": ["submitted"]}
    assert handler(json.loads(message["Body"]), None) == {"outcomes": ["duplicate"]}
    assert list(jobs_by_key(stack)) == ["direct/one two.txt"]


def test_newer_upload_of_the_same_key_is_its_own_job(stack: Stack, handler: Any) -> None:
    first = stack.s3.put_object(Bucket=stack.staging, Key="same.txt", Body=b"v1")
    [m1] = stack.receive_all(expected=1)
    assert deliver(stack, handler, [m1]) == []
    second = stack.s3.put_object(Bucket=stack.staging, Key="same.txt", Body=b"v2")
    [m2] = stack.receive_all(expected=1)
    assert deliver(stack, handler, [m2]) == []
    versions = {j["parameters"]["version_id"] for j in jobs_by_key(stack)["same.txt"]}
    assert versions == {first["VersionId"], second["VersionId"]}


def cold_start(environ: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Import the handler as Lambda's init does, in a process of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
    script = (
        "from trigger_lambda import handler; print('built', handler.trigger.cache_info().currsize)"
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**env, "AWS_LAMBDA_FUNCTION_NAME": "conveyor-trigger", **environ},
        timeout=60,
    )


LAMBDA_SETTINGS = {
    "CONVEYOR_LEDGER_TABLE": "ledger",
    "CONVEYOR_JOB_QUEUE": "queue",
    "CONVEYOR_JOB_DEFINITION": "definition",
}


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {**LAMBDA_SETTINGS, "CONVEYOR_ROUTES": '[{"match": "*", "transform": "h265"}]'},
            "cannot start: CONVEYOR_ROUTES rule 1 .*unknown transform 'h265'",
        ),
        (
            {**LAMBDA_SETTINGS, "CONVEYOR_ROUTES": "[{"},
            "cannot start: CONVEYOR_ROUTES is not valid",
        ),
        ({"CONVEYOR_JOB_QUEUE": "queue"}, "cannot start: missing settings: CONVEYOR_LEDGER_TABLE"),
    ],
)
def test_invalid_settings_fail_the_lambda_init_in_one_line(
    environ: dict[str, str], message: str
) -> None:
    done = cold_start(environ)
    assert done.returncode != 0, done.stdout
    [line] = [json.loads(x) for x in done.stdout.splitlines() if x.startswith("{")]
    assert line["level"] == "ERROR" and re.match(message, line["message"]), line


def test_valid_settings_build_the_trigger_at_lambda_init() -> None:
    done = cold_start({**LAMBDA_SETTINGS, "CONVEYOR_ROUTES": COPY_EVERYTHING})
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith("built 1")
