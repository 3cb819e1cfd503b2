"""Every conditional write survives a lost response: its retry recognises its own write.

The fault proxy forwards a write to moto (which applies it) and answers the client with a 500, so
botocore retries it and the retry meets the write it already made (design invariant 8).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from completion_lambda import handler as completion_handler
from conveyor.aws import client
from conveyor.events.batch import JobStateChange
from conveyor.events.s3 import parse_body
from conveyor.ledger.store import Ledger
from conveyor.objects import ObjectVersion
from conveyor.status import Status
from tests.conftest import Stack
from tests.integration.faults import (
    FaultProxy,
    Request,
    dynamodb_conditional,
    fault_proxy,
    s3_complete_multipart,
    s3_conditional_put,
)
from tests.integration.helpers import fresh_completion_handler, state_change
from tests.integration.test_trigger import COPY_EVERYTHING, jobs_by_key
from tests.integration.worker import log_lines, open_uploads, run_worker, upload
from trigger_lambda.config import TriggerConfig
from trigger_lambda.service import Outcome, Trigger

OUTPUT = "CONVEYOR_OUTPUT_BUCKET"
SMALL_PARTS = {"CONVEYOR_PART_SIZE": str(5 * 1024 * 1024)}


@pytest.fixture
def proxy(moto_endpoint: str) -> Iterator[FaultProxy]:
    with fault_proxy(moto_endpoint) as running:
        yield running


def proxied_ledger(stack: Stack, proxy: FaultProxy) -> Ledger:
    dynamodb = client("dynamodb", endpoint_url=proxy.url)
    return Ledger(dynamodb, stack.settings["CONVEYOR_LEDGER_TABLE"])


def direct_ledger(stack: Stack) -> Ledger:
    return Ledger(client("dynamodb"), stack.settings["CONVEYOR_LEDGER_TABLE"])


def is_claim(r: Request) -> bool:
    return dynamodb_conditional("PutItem")(r) and b'"claim_expires"' in r.body


def is_transition(r: Request) -> bool:
    return dynamodb_conditional("PutItem")(r) and b'"history"' in r.body


def new_version(stack: Stack, key: str) -> ObjectVersion:
    """Upload `key` and return the version its notification announces."""
    stack.s3.put_object(Bucket=stack.staging, Key=key, Body=b"payload")
    [message] = stack.receive_all(expected=1)
    [version] = parse_body(message["Body"]).versions
    return version


def submitted(version: ObjectVersion, job_id: str) -> JobStateChange:
    return JobStateChange(
        job_id=job_id,
        status=Status.SUBMITTED,
        parameters={
            "bucket": version.bucket,
            "key": version.key,
            "version_id": version.version_id or "",
            "etag": version.etag,
            "transform": "copy",
        },
        created_at=1_000,
    )


# --- the trigger --------------------------------------------------------------------------------


def test_trigger_submits_although_claim_and_submitted_answers_were_lost(
    stack: Stack, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVEYOR_ROUTES", COPY_EVERYTHING)
    trigger = Trigger(
        config=TriggerConfig.from_env(),
        ledger=proxied_ledger(stack, proxy),
        batch=stack.batch,
        s3=stack.s3,
    )
    claim = proxy.lose_response("claim", is_claim)
    transition = proxy.lose_response("SUBMITTED", is_transition)
    stack.s3.put_object(Bucket=stack.staging, Key="lost/claim.txt", Body=b"c")
    [message] = stack.receive_all(expected=1)

    assert trigger.handle_message(parse_body(message["Body"])) == [Outcome.SUBMITTED]

    assert (claim.fired, transition.fired) == (1, 1)
    [job] = jobs_by_key(stack)["lost/claim.txt"]
    [item] = direct_ledger(stack).versions_of(stack.staging, "lost/claim.txt")
    assert (item["status"], item["job_id"]) == ("SUBMITTED", job["jobId"])
    assert [h["status"] for h in item["history"]] == ["SUBMITTED"]
    # A later delivery of the same message is still a duplicate.
    assert trigger.handle_message(parse_body(message["Body"])) == [Outcome.DUPLICATE]
    assert len(jobs_by_key(stack)["lost/claim.txt"]) == 1


# --- the ledger ---------------------------------------------------------------------------------


def test_claim_whose_answer_was_lost_is_ours_and_nobody_elses(
    stack: Stack, proxy: FaultProxy
) -> None:
    version = new_version(stack, "lost/mine.txt")
    rule = proxy.lose_response("claim", is_claim)

    claimed = proxied_ledger(stack, proxy).claim(version, transform="copy")

    assert rule.fired == 1
    assert claimed is not None and claimed["transform"] == "copy"
    stored = direct_ledger(stack).get(claimed["pk"], claimed["sk"])
    assert stored is not None and stored["claim_token"] == claimed["claim_token"]
    # Another writer, through the same faulty path, is still refused.
    proxy.lose_response("other claim", is_claim)
    assert proxied_ledger(stack, proxy).claim(version, transform="copy") is None
    assert direct_ledger(stack).claim(version, transform="copy") is None


def test_transition_whose_answer_was_lost_is_applied_once(stack: Stack, proxy: FaultProxy) -> None:
    version = new_version(stack, "lost/transition.txt")
    ledger = proxied_ledger(stack, proxy)
    claimed = ledger.claim(version, transform="copy")
    assert claimed is not None
    rule = proxy.lose_response("SUBMITTED", is_transition)

    assert ledger.apply(submitted(version, "job-lost"), current=claimed) is True

    assert rule.fired == 1
    stored = direct_ledger(stack).get(claimed["pk"], claimed["sk"])
    assert stored is not None
    assert (stored["status"], stored["job_id"], stored["revision"]) == ("SUBMITTED", "job-lost", 1)
    assert len(stored["history"]) == 1
    # A real duplicate of the same change is still a duplicate.
    assert ledger.apply(submitted(version, "job-lost")) is False


def test_skipped_whose_answer_was_lost_is_recorded_by_us(stack: Stack, proxy: FaultProxy) -> None:
    version = new_version(stack, "lost/skipped.txt")
    rule = proxy.lose_response("SKIPPED", dynamodb_conditional("PutItem"))

    assert proxied_ledger(stack, proxy).record_skipped(version, "no route") is True

    assert rule.fired == 1
    assert direct_ledger(stack).record_skipped(version, "no route") is False


def test_release_whose_answer_was_lost_gives_the_claim_back(
    stack: Stack, proxy: FaultProxy
) -> None:
    version = new_version(stack, "lost/release.txt")
    ledger = proxied_ledger(stack, proxy)
    claimed = ledger.claim(version, transform="copy")
    assert claimed is not None
    rule = proxy.lose_response("release", dynamodb_conditional("UpdateItem"))

    ledger.release(claimed, "SubmitJob failed: TooManyRequestsException")

    assert rule.fired == 1
    again = direct_ledger(stack).claim(version, transform="copy")
    assert again is not None and again["claim_token"] != claimed["claim_token"]


# --- the completion handler ---------------------------------------------------------------------


@pytest.fixture
def completion_via(proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The completion handler, its DynamoDB client built to go through the proxy."""
    fresh_completion_handler()
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    yield completion_handler.handler
    fresh_completion_handler()


def test_completion_whose_answer_was_lost_is_applied(
    stack: Stack, proxy: FaultProxy, completion_via: Any
) -> None:
    version = new_version(stack, "lost/completed.txt")
    job = stack.batch.submit_job(
        jobName="lost-completed",
        jobQueue=stack.settings["CONVEYOR_JOB_QUEUE"],
        jobDefinition=stack.settings["CONVEYOR_JOB_DEFINITION"],
        parameters=submitted(version, "").parameters,
    )
    [described] = stack.batch.describe_jobs(jobs=[job["jobId"]])["jobs"]
    direct_ledger(stack).apply(submitted(version, job["jobId"]))
    rule = proxy.lose_response("RUNNING", is_transition)

    answer = completion_via(state_change(described, "RUNNING"), None)

    assert rule.fired == 1
    assert answer == {"job_id": job["jobId"], "result": "applied"}
    [item] = direct_ledger(stack).versions_of(stack.staging, version.key)
    assert item["status"] == "RUNNING"
    assert [h["status"] for h in item["history"]] == ["SUBMITTED", "RUNNING"]


# --- the worker's output commit -----------------------------------------------------------------


def output_requests(proxy: FaultProxy, bucket: str, key: str) -> list[tuple[str, int, bool]]:
    """What reached moto for the output key: (method, moto's status, answer lost)."""
    path = f"/{bucket}/{key}"
    return [(m, status, lost) for m, p, status, lost in proxy.handled if p.split("?")[0] == path]


def test_worker_put_commit_whose_answer_was_lost_ends_done(stack: Stack, proxy: FaultProxy) -> None:
    obj = upload(stack, "lost/small.txt", b"small output")
    rule = proxy.lose_response("PutObject", s3_conditional_put)

    result = run_worker(stack, obj, env={"AWS_ENDPOINT_URL": proxy.url}, job_id="job-lost")

    assert result.returncode == 0, result.stderr
    assert rule.fired == 1
    bucket = stack.settings[OUTPUT]
    writes = [r for r in output_requests(proxy, bucket, obj.key) if r[0] == "PUT"]
    assert writes == [("PUT", 200, True), ("PUT", 412, False)]  # applied once, retry refused
    # The retry met this job's own output: it wrote it, it did not find it written.
    assert "finished: write" in [line["message"] for line in log_lines(result)]
    assert stack.s3.get_object(Bucket=bucket, Key=obj.key)["Body"].read() == obj.body
    assert not stack.s3.list_object_versions(Bucket=stack.staging, Prefix=obj.key).get("Versions")


def test_worker_multipart_commit_whose_answer_was_lost_ends_done(
    stack: Stack, proxy: FaultProxy
) -> None:
    body = os.urandom(11 * 1024 * 1024)  # three 5 MiB parts: a real multipart output
    obj = upload(stack, "lost/large.bin", body)
    rule = proxy.lose_response("CompleteMultipartUpload", s3_complete_multipart)

    result = run_worker(stack, obj, env={**SMALL_PARTS, "AWS_ENDPOINT_URL": proxy.url})

    assert result.returncode == 0, result.stderr
    assert rule.fired == 1
    bucket = stack.settings[OUTPUT]
    completes = [r for r in output_requests(proxy, bucket, obj.key) if r[0] == "POST"][1:]
    # S3 (and moto) answers a retried CompleteMultipartUpload of a completed upload with its object.
    assert completes == [("POST", 200, True), ("POST", 200, False)]
    head = stack.s3.head_object(Bucket=bucket, Key=obj.key)
    assert head["ETag"].strip('"').endswith("-3")
    assert stack.s3.get_object(Bucket=bucket, Key=obj.key)["Body"].read() == body
    assert open_uploads(stack) == []
