"""The fault proxy's pure parts: which service and operation a botocore request is for, the
seeded decisions, the token bucket, and error answers botocore retries as AWS's own."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import botocore.retries.standard
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError
from urllib3 import HTTPResponse

from conveyor.aws import client
from conveyor_local.faults import (
    KINDS,
    Fault,
    Faults,
    LoseResponse,
    Request,
    Throttle,
    TokenBucket,
    error_answer,
    seeded_fault,
)

ENDPOINT = "http://127.0.0.1:9"
"""Nothing is sent: a hook answers every request before it leaves."""
SERVICES = ("s3", "sqs", "dynamodb", "batch")
SESSION = boto3.session.Session()
"""One session for every client here: later clients reuse what the first loaded."""


class Sent(Exception):
    def __init__(self, request: AWSPreparedRequest) -> None:
        self.request = request


def as_seen(request: AWSPreparedRequest) -> Request:
    """The request as the proxy parses it off the wire."""
    target = request.url.removeprefix(ENDPOINT) or "/"
    headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
    body = request.body or b""
    if hasattr(body, "read"):
        body = body.read()
    return Request.of(
        request.method, target, headers, body if isinstance(body, bytes) else body.encode()
    )


@pytest.fixture
def make(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], Any]]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", ENDPOINT)
    once = Config(retries={"total_max_attempts": 1})
    yield lambda service: client(service, session=SESSION, config=once)


def captured(service_client: Any, call: Callable[[Any], object]) -> Request:
    def stop(request: AWSPreparedRequest, **_: object) -> None:
        raise Sent(request)

    service_client.meta.events.register("before-send", stop)
    with pytest.raises(Sent) as sent:
        call(service_client)
    return as_seen(sent.value.request)


CALLS: list[tuple[str, str, Callable[[Any], object]]] = [
    ("s3", "GetObject", lambda c: c.get_object(Bucket="b", Key="a/k é.txt", Range="bytes=0-9")),
    ("s3", "HeadObject", lambda c: c.head_object(Bucket="b", Key="k")),
    ("s3", "PutObject", lambda c: c.put_object(Bucket="b", Key="k", Body=b"x", IfNoneMatch="*")),
    ("s3", "CopyObject", lambda c: c.copy_object(Bucket="b", Key="k", CopySource="s/k")),
    ("s3", "CreateMultipartUpload", lambda c: c.create_multipart_upload(Bucket="b", Key="k")),
    (
        "s3",
        "UploadPart",
        lambda c: c.upload_part(Bucket="b", Key="k", UploadId="u", PartNumber=1, Body=b"x"),
    ),
    (
        "s3",
        "UploadPartCopy",
        lambda c: c.upload_part_copy(
            Bucket="b", Key="k", UploadId="u", PartNumber=2, CopySource="s/k"
        ),
    ),
    (
        "s3",
        "CompleteMultipartUpload",
        lambda c: c.complete_multipart_upload(
            Bucket="b", Key="k", UploadId="u", MultipartUpload={"Parts": []}
        ),
    ),
    (
        "s3",
        "AbortMultipartUpload",
        lambda c: c.abort_multipart_upload(Bucket="b", Key="k", UploadId="u"),
    ),
    ("s3", "ListParts", lambda c: c.list_parts(Bucket="b", Key="k", UploadId="u")),
    ("s3", "ListMultipartUploads", lambda c: c.list_multipart_uploads(Bucket="b")),
    ("s3", "ListObjectVersions", lambda c: c.list_object_versions(Bucket="b", Prefix="k")),
    ("s3", "ListObjectsV2", lambda c: c.list_objects_v2(Bucket="b")),
    ("s3", "DeleteObject", lambda c: c.delete_object(Bucket="b", Key="k", VersionId="v")),
    (
        "s3",
        "DeleteObjects",
        lambda c: c.delete_objects(Bucket="b", Delete={"Objects": [{"Key": "k"}]}),
    ),
    ("s3", "GetBucketVersioning", lambda c: c.get_bucket_versioning(Bucket="b")),
    ("s3", "HeadBucket", lambda c: c.head_bucket(Bucket="b")),
    ("dynamodb", "PutItem", lambda c: c.put_item(TableName="t", Item={"pk": {"S": "a"}})),
    (
        "dynamodb",
        "Query",
        lambda c: c.query(
            TableName="t",
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "a"}},
        ),
    ),
    (
        "dynamodb",
        "TransactWriteItems",
        lambda c: c.transact_write_items(
            TransactItems=[{"Put": {"TableName": "t", "Item": {"pk": {"S": "a"}}}}]
        ),
    ),
    ("sqs", "ReceiveMessage", lambda c: c.receive_message(QueueUrl=f"{ENDPOINT}/123/q")),
    (
        "sqs",
        "DeleteMessage",
        lambda c: c.delete_message(QueueUrl=f"{ENDPOINT}/123/q", ReceiptHandle="r"),
    ),
    ("batch", "SubmitJob", lambda c: c.submit_job(jobName="j", jobQueue="q", jobDefinition="d")),
    ("batch", "ListJobs", lambda c: c.list_jobs(jobQueue="q", jobStatus="RUNNING")),
    ("batch", "DescribeJobs", lambda c: c.describe_jobs(jobs=["j"])),
    (
        "batch",
        "TagResource",
        lambda c: c.tag_resource(resourceArn="arn:aws:batch:x", tags={"a": "b"}),
    ),
    ("sts", "GetCallerIdentity", lambda c: c.get_caller_identity()),
    ("iam", "GetRole", lambda c: c.get_role(RoleName="r")),
    (
        "cognito-idp",
        "InitiateAuth",
        lambda c: c.initiate_auth(
            ClientId="c",
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "u", "PASSWORD": "p"},
        ),
    ),
]


@pytest.mark.parametrize(("service", "operation", "call"), CALLS, ids=[c[1] for c in CALLS])
def test_service_and_operation_of_botocore_requests(
    make: Callable[[str], Any], service: str, operation: str, call: Callable[[Any], object]
) -> None:
    request = captured(make(service), call)
    assert (request.service, request.operation) == (service, operation)


def test_s3_resource_is_the_decoded_bucket_and_key(make: Callable[[str], Any]) -> None:
    request = captured(make("s3"), CALLS[0][2])
    assert request.resource == "b/a/k é.txt"
    assert captured(make("dynamodb"), CALLS[17][2]).resource == ""


def test_presigned_upload_is_told_by_its_credential(make: Callable[[str], Any]) -> None:
    url = make("s3").generate_presigned_url(
        "put_object", Params={"Bucket": "b", "Key": "u/k.bin"}, ExpiresIn=60
    )
    request = Request.of("PUT", url.removeprefix(ENDPOINT), {}, b"data")
    assert (request.service, request.operation, request.resource) == (
        "s3",
        "PutObject",
        "b/u/k.bin",
    )


def test_moto_api_and_unsigned_requests_are_other() -> None:
    assert Request.of("POST", "/moto-api/config", {}, b"{}").service == "other"
    assert Request.of("GET", "/", {"Host": "x"}, b"").service == "other"


# --- seeded decisions ---------------------------------------------------------------------------


def decisions(seed: int, share: float = 0.1, n: int = 2000) -> list[Fault | None]:
    return [seeded_fault(seed, share, KINDS, ("before", "after"), f"place {i}") for i in range(n)]


def test_seeded_decisions_are_reproducible_and_depend_on_the_seed() -> None:
    assert decisions(7) == decisions(7)
    assert decisions(7) != decisions(8)


def test_seeded_share_kinds_and_times() -> None:
    faults = [f for f in decisions(7, n=20_000) if f is not None]
    assert 1800 < len(faults) < 2200  # 10% of 20,000, deterministic for this seed
    assert {f.kind for f in faults} == set(KINDS)
    assert {f.when for f in faults} == {"before", "after"}
    assert not any(decisions(7, share=0.0))
    assert all(decisions(7, share=1.0))


def s3_get(key: str) -> Request:
    return Request.of(
        "GET",
        f"/bucket/{key}",
        {"Authorization": "AWS4-HMAC-SHA256 Credential=k/20250101/us-east-1/s3/aws4_request"},
        b"",
    )


def test_faults_decide_by_place_not_by_interleaving() -> None:
    """The n-th request for one object gets the same decision however others interleave."""
    first, second = Faults(seed=3, share={"s3": 0.5}), Faults(seed=3, share={"s3": 0.5})
    a = [first.decide(s3_get("a")) for _ in range(40)]
    b = []
    for _ in range(40):
        second.decide(s3_get("other"))
        b.append(second.decide(s3_get("a")))
    assert a == b and any(a) and not all(a)


def test_faults_leave_other_services_alone() -> None:
    rule = Faults(seed=1, share={"s3": 1.0})
    assert rule.decide(s3_get("a")) is not None
    assert rule.decide(Request.of("POST", "/moto-api/reset", {}, b"")) is None
    sqs = Request.of("POST", "/", {"X-Amz-Target": "AmazonSQS.ReceiveMessage"}, b"{}")
    assert rule.decide(sqs) is None


def test_faults_refuse_unknown_kinds() -> None:
    with pytest.raises(ValueError, match="slow"):
        Faults(kinds=("slow",))


def test_lose_response_fires_its_times() -> None:
    rule = LoseResponse("gets", lambda r: r.operation == "GetObject", times=2)
    assert [rule.decide(s3_get("a")) for _ in range(3)] == [Fault("500", "after")] * 2 + [None]
    assert rule.fired == 2


# --- the token bucket ---------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_allows_bursts_then_the_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=2, capacity=3, clock=clock)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    clock.now += 0.5  # one token back
    assert [bucket.take(), bucket.take()] == [True, False]
    clock.now += 60  # never more than the capacity saved up
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]


def test_throttle_only_its_service_and_operation() -> None:
    clock = Clock()
    rule = Throttle(service="batch", operation="SubmitJob", per_second=1, clock=clock)
    submit = Request.of(
        "POST",
        "/v1/submitjob",
        {"Authorization": "Credential=k/20250101/us-east-1/batch/aws4_request"},
        b"{}",
    )
    listing = Request.of(
        "POST",
        "/v1/listjobs",
        {"Authorization": "Credential=k/20250101/us-east-1/batch/aws4_request"},
        b"{}",
    )
    assert rule.decide(submit) is None
    assert rule.decide(submit) == Fault("throttle", "before")
    assert rule.decide(listing) is None and rule.decide(s3_get("a")) is None
    clock.now += 1
    assert rule.decide(submit) is None


# --- error answers botocore retries -------------------------------------------------------------

SUCCEEDS: dict[str, tuple[Callable[[Any], object], bytes]] = {
    "s3": (lambda c: c.put_object(Bucket="b", Key="k", Body=b"x"), b""),
    "dynamodb": (lambda c: c.put_item(TableName="t", Item={"pk": {"S": "a"}}), b"{}"),
    "sqs": (lambda c: c.send_message(QueueUrl=f"{ENDPOINT}/1/q", MessageBody="m"), b"{}"),
    "batch": (lambda c: c.list_jobs(jobQueue="q"), b'{"jobSummaryList": []}'),
}
EXPECTED_CODES = {
    ("s3", "500"): "InternalError",
    ("s3", "503"): "SlowDown",
    ("s3", "throttle"): "SlowDown",
    ("dynamodb", "500"): "InternalServerError",
    ("dynamodb", "throttle"): "ThrottlingException",
    ("sqs", "throttle"): "RequestThrottled",
    ("batch", "500"): "ServerException",
    ("batch", "throttle"): "TooManyRequestsException",
}


def response(status: int, headers: Any, body: bytes) -> AWSResponse:
    raw = HTTPResponse(
        body=io.BytesIO(body), headers=dict(headers), status=status, preload_content=False
    )
    return AWSResponse(ENDPOINT, status, dict(headers), raw)


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda *a: 0)


def answering(service: str, attempts: int, answers: list[AWSResponse]) -> tuple[Any, Any]:
    """A client whose requests get `answers` in turn, and what is left of them."""
    config = Config(retries={"mode": "standard", "total_max_attempts": attempts})
    service_client = client(service, session=SESSION, config=config)
    left = iter(answers)
    service_client.meta.events.register("before-send", lambda **_: next(left))
    return service_client, left


@pytest.mark.parametrize("kind", ["500", "503", "throttle"])
@pytest.mark.parametrize("service", SERVICES)
def test_error_answers_are_what_botocore_retries(
    make: Callable[[str], Any], no_backoff: None, service: str, kind: str
) -> None:
    call, ok_body = SUCCEEDS[service]
    answer = error_answer(captured(make(service), call), kind)
    fault = response(answer.status, answer.headers, answer.body)

    # Not retried, the error is the service's own code ...
    once, _ = answering(service, 1, [fault])
    with pytest.raises(ClientError) as raised:
        call(once)
    code = raised.value.response["Error"]["Code"]
    assert code == EXPECTED_CODES.get((service, kind), code)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == answer.status

    # ... and botocore's standard mode retries it.
    fault = response(answer.status, answer.headers, answer.body)
    retrying, left = answering(service, 2, [fault, response(200, {}, ok_body)])
    call(retrying)
    assert next(left, None) is None


def test_dynamodb_has_two_throttling_errors(make: Callable[[str], Any]) -> None:
    request = captured(make("dynamodb"), SUCCEEDS["dynamodb"][0])
    codes = set()
    for variant in range(2):
        answer = error_answer(request, "throttle", variant)
        once, _ = answering("dynamodb", 1, [response(answer.status, answer.headers, answer.body)])
        with pytest.raises(ClientError) as raised:
            SUCCEEDS["dynamodb"][0](once)
        codes.add(raised.value.response["Error"]["Code"])
    assert codes == {"ThrottlingException", "ProvisionedThroughputExceededException"}
