"""The web page's API, as API Gateway's HTTP API calls it (payload 2.0, the JWT authorizer's
claims in the request context), against the moto stack: two people, A and B, who never see each
other's files."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlparse
from urllib.request import Request, urlopen

import pytest

from completion_lambda import handler as completion_handler
from conveyor.aws import client
from conveyor.ledger.schema import primary_key
from tests.conftest import Stack
from tests.integration.helpers import state_change
from tests.integration.test_trigger import deliver, jobs_by_key
from tests.integration.worker import ledger, run_parameters
from trigger_lambda import handler as trigger_handler
from web_api import files as web_files
from web_api import handler as web_handler
from web_api.auth import User
from web_api.keys import FILE_ID
from web_api.validation import MAX_SIZE

ORIGIN = "https://conveyor.example.com"
A = str(uuid.uuid4())
B = str(uuid.uuid4())
THRESHOLD = 1000
"""Bytes: above this the API hands out credentials for a multipart upload (tests go small)."""


@pytest.fixture
def api(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("CONVEYOR_WEB_ORIGIN", ORIGIN)
    monkeypatch.setenv("CONVEYOR_WEB_MULTIPART_THRESHOLD", str(THRESHOLD))
    monkeypatch.setenv("CONVEYOR_ROUTES", json.dumps([{"match": "*", "transform": "copy"}]))
    caches = (web_handler.services, web_handler.app, trigger_handler.trigger)
    for cached in (*caches, completion_handler.ledger):
        cached.cache_clear()
    yield call
    for cached in (*caches, completion_handler.ledger):
        cached.cache_clear()


def event(
    method: str,
    path: str,
    *,
    sub: str | None = A,
    body: Any = None,
    claims: dict[str, Any] | None = None,
    origin: str = ORIGIN,
    raw_body: str | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    """What API Gateway's HTTP API hands the Lambda (payload format 2.0) once its JWT authorizer
    accepted a Cognito access token."""
    if claims is None and sub is not None:
        claims = {
            "sub": sub,
            "username": f"user-{sub[:4]}",
            "client_id": "client123",
            "token_use": "access",
        }
    text = raw_body if raw_body is not None else (None if body is None else json.dumps(body))
    if base64_body and text is not None:
        text = base64.b64encode(text.encode()).decode()
    context: dict[str, Any] = {
        "accountId": "123456789012",
        "apiId": "api",
        "domainName": "api.example.com",
        "http": {
            "method": method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.1",
            "userAgent": "pytest",
        },
        "requestId": uuid.uuid4().hex,
        "routeKey": f"{method} {path}",
        "stage": "$default",
        "time": "28/Nov/2026:10:55:12 +0000",
        "timeEpoch": 1795863312000,
    }
    if claims:
        context["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    return {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json", "origin": origin},
        "requestContext": context,
        "body": text,
        "isBase64Encoded": base64_body,
    }


def call(method: str, path: str, status: int, **kw: Any) -> dict[str, Any]:
    response = web_handler.handler(event(method, path, **kw), None)
    body = json.loads(response["body"]) if response.get("body") else {}
    assert response["statusCode"] == status, body
    assert response["headers"]["Content-Type"] == "application/json"
    assert response["headers"]["Cache-Control"] == "no-store"
    if status >= 400:
        assert set(body) == {"error"} and body["error"], body
    return body


def new_upload(api: Any, name: str, size: int, kind: str = "video/mp4", **kw: Any) -> dict:
    return api("POST", "/uploads", 201, body={"name": name, "size": size, "type": kind}, **kw)


def put(url: str, data: bytes, headers: dict[str, str]) -> None:
    with urlopen(Request(url, data=data, headers=headers, method="PUT")) as response:
        assert response.status == 200


def staged_keys(stack: Stack, prefix: str = "uploads/") -> list[str]:
    listing = stack.s3.list_objects_v2(Bucket=stack.staging, Prefix=prefix)
    return [o["Key"] for o in listing.get("Contents", [])]


def open_uploads(stack: Stack) -> list[str]:
    return [
        u["Key"] for u in stack.s3.list_multipart_uploads(Bucket=stack.staging).get("Uploads", [])
    ]


def trigger_and_submit(stack: Stack) -> dict[str, Any]:
    """What S3's notification and the trigger Lambda do with the one new upload: its job."""
    assert deliver(stack, trigger_handler.handler, stack.receive_all(expected=1)) == []
    [jobs] = jobs_by_key(stack).values()
    return jobs[-1]


def batch_runs(job: dict[str, Any]) -> int:
    """What Batch and EventBridge do: RUNNING, the worker, its final state."""
    completion_handler.handler(state_change(job, "RUNNING"), None)
    done = run_parameters(job["parameters"], job_id=job["jobId"])
    final = "SUCCEEDED" if done.returncode == 0 else "FAILED"
    completion_handler.handler(
        state_change(job, final, container={"exitCode": done.returncode}), None
    )
    return done.returncode


# --- POST /uploads ------------------------------------------------------------------------


def test_a_small_file_gets_a_presigned_put_of_its_own_key(stack: Stack, api: Any) -> None:
    answer = new_upload(api, "../holiday clip.mov", 11, "video/quicktime")
    assert FILE_ID.match(answer["id"])
    assert answer["key"] == f"uploads/{A}/{answer['id']}/holiday clip.mov"
    assert answer["name"] == "holiday clip.mov"
    assert (answer["bucket"], answer["region"], answer["multipart"]) == (
        stack.staging,
        "us-east-1",
        False,
    )
    assert "credentials" not in answer
    put_ = answer["put"]
    assert put_["headers"] == {"Content-Type": "video/quicktime"}
    url = urlparse(put_["url"])
    query = parse_qs(url.query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]  # Signature V4
    assert query["X-Amz-Expires"] == ["900"]
    assert "content-type" in query["X-Amz-SignedHeaders"][0].split(";")
    assert url.path == f"/{stack.staging}/uploads/{A}/{answer['id']}/holiday%20clip.mov"

    put(put_["url"], b"hello world", put_["headers"])  # what the browser does
    [listed] = api("GET", "/files", 200)["files"]
    assert listed == {
        "id": answer["id"],
        "key": answer["key"],
        "name": "holiday clip.mov",
        "size": 11,
        "uploaded_at": listed["uploaded_at"],
        "status": "UPLOADED",
        "progress": None,
        "reason": None,
        "job_id": None,
        "updated_at": listed["updated_at"],
        "output": None,
        "can_retry": False,
    }
    datetime.fromisoformat(listed["uploaded_at"])


def test_a_large_file_gets_credentials_for_its_key_alone(stack: Stack, api: Any) -> None:
    sts = web_handler.services().sts
    assumed: list[dict[str, Any]] = []
    sts.meta.events.register(
        "provide-client-params.sts.AssumeRole", lambda params, **_: assumed.append(params)
    )
    answer = new_upload(api, "master.mxf", 5 * THRESHOLD, "application/mxf")
    key = answer["key"]
    assert answer["multipart"] is True and "put" not in answer
    assert answer["partSize"] == 16 * 1024**2
    granted = answer["credentials"]
    assert set(granted) == {"accessKeyId", "secretAccessKey", "sessionToken", "expiration"}
    datetime.fromisoformat(granted["expiration"])

    [request] = assumed  # as `conveyor credentials` asks: the role, one key, the prefix tag
    assert request["RoleArn"] == stack.settings["CONVEYOR_UPLOAD_ROLE_ARN"]
    [statement] = json.loads(request["Policy"])["Statement"]
    assert statement["Resource"] == f"arn:aws:s3:::{stack.staging}/{key}"
    assert request["Tags"] == [{"Key": "conveyor-prefix", "Value": key}]
    assert request["DurationSeconds"] == 3600

    # The browser uploads in parts with them (moto does not enforce the policy; AWS does).
    s3 = client(
        "s3",
        aws_access_key_id=granted["accessKeyId"],
        aws_secret_access_key=granted["secretAccessKey"],
        aws_session_token=granted["sessionToken"],
    )
    upload_id = s3.create_multipart_upload(Bucket=stack.staging, Key=key)["UploadId"]

    renewed = api("POST", f"/uploads/{answer['id']}/credentials", 200)
    assert (renewed["id"], renewed["key"], renewed["bucket"]) == (answer["id"], key, stack.staging)
    assert set(renewed["credentials"]) == set(granted)
    assert json.loads(assumed[-1]["Policy"])["Statement"][0]["Resource"].endswith(key)
    api("POST", f"/uploads/{answer['id']}/credentials", 404, sub=B)  # not B's

    part = s3.upload_part(
        Bucket=stack.staging, Key=key, UploadId=upload_id, PartNumber=1, Body=b"x" * 5000
    )
    s3.complete_multipart_upload(
        Bucket=stack.staging,
        Key=key,
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    [listed] = api("GET", "/files", 200)["files"]
    assert (listed["id"], listed["size"], listed["status"]) == (answer["id"], 5000, "UPLOADED")
    api("POST", f"/uploads/{answer['id']}/credentials", 404)  # nothing open any more


def test_credentials_are_renewed_only_for_an_open_upload(stack: Stack, api: Any) -> None:
    answer = new_upload(api, "big.mov", 5 * THRESHOLD)
    api("POST", f"/uploads/{answer['id']}/credentials", 404)  # not started
    api("POST", "/uploads/not-an-id/credentials", 404)


def test_the_threshold_decides_put_or_parts(stack: Stack, api: Any) -> None:
    assert new_upload(api, "a.mov", THRESHOLD)["multipart"] is False
    assert new_upload(api, "b.mov", THRESHOLD + 1)["multipart"] is True
    huge = new_upload(api, "c.mov", MAX_SIZE)
    assert MAX_SIZE / huge["partSize"] <= 10_000  # parts grow to stay within S3's limit


BAD_UPLOADS = [
    ({"name": "a.mov", "size": 5}, "Missing field 'type'"),
    ({"name": "a.mov", "size": 5, "type": "video/mp4", "key": "videos/x"}, "Unknown field"),
    ({"name": "../\u202e", "size": 5, "type": "video/mp4"}, "nothing left"),
    ({"name": "a.mov", "size": "5", "type": "video/mp4"}, "whole number"),
    ({"name": "a.mov", "size": 0, "type": "video/mp4"}, "at least 1 byte"),
    ({"name": "a.mov", "size": MAX_SIZE + 1, "type": "video/mp4"}, "at most 5 TiB"),
    ({"name": "a.pdf", "size": 5, "type": "application/pdf"}, "not allowed: use video/*"),
    (["a.mov", 5, "video/mp4"], "JSON object"),
]


def test_bad_upload_requests_are_400_and_change_nothing(stack: Stack, api: Any) -> None:
    sts = web_handler.services().sts
    assumed: list[Any] = []
    sts.meta.events.register(
        "provide-client-params.sts.AssumeRole", lambda params, **_: assumed.append(1)
    )
    for body, says in BAD_UPLOADS:
        assert says in api("POST", "/uploads", 400, body=body)["error"], body
    for raw in ("", "{not json", "\x00"):
        assert "must be JSON" in api("POST", "/uploads", 400, raw_body=raw)["error"]
    assert (staged_keys(stack), open_uploads(stack), assumed) == ([], [], [])


def test_a_base64_body_is_read(stack: Stack, api: Any) -> None:
    body = {"name": "a.mov", "size": 5, "type": "video/mp4"}
    assert api("POST", "/uploads", 201, body=body, base64_body=True)["multipart"] is False


# --- who is asking ------------------------------------------------------------------------


UNVERIFIED = [
    {"scope": "openid"},  # claims, but no user in them
    {"username": "someone", "token_use": "access"},
    {"sub": "../other", "token_use": "access"},
    {"sub": "", "token_use": "access"},
]
ROUTES = [
    ("POST", "/uploads"),
    ("GET", "/files"),
    ("GET", "/files/20261128T105512Z-4f9c2a1b"),
    ("POST", "/files/20261128T105512Z-4f9c2a1b/retry"),
    ("POST", "/uploads/20261128T105512Z-4f9c2a1b/credentials"),
]


def test_no_verified_user_is_401_on_every_route(stack: Stack, api: Any) -> None:
    body = {"name": "a.mov", "size": 5, "type": "video/mp4"}
    for method, path in ROUTES:
        refused = api(method, path, 401, sub=None, body=body)  # no authorizer at all
        assert "Sign in" in refused["error"]
        for claims in UNVERIFIED:
            assert "Sign in" in api(method, path, 401, claims=claims, body=body)["error"]
    assert staged_keys(stack) == []


def test_cors_answers_the_pages_origin_alone(stack: Stack, api: Any) -> None:
    response = web_handler.handler(event("GET", "/files"), None)
    headers = response["headers"]
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    allowed = {h.strip().lower() for h in headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed
    assert "Access-Control-Allow-Credentials" not in headers
    other = web_handler.handler(event("GET", "/files", origin="https://evil.example"), None)
    assert "Access-Control-Allow-Origin" not in other["headers"]
    preflight = web_handler.handler(event("OPTIONS", "/uploads", sub=None), None)
    assert preflight["statusCode"] == 204
    assert preflight["headers"]["Access-Control-Allow-Origin"] == ORIGIN


def test_an_event_without_a_stage_is_served_as_the_default_stages(stack: Stack, api: Any) -> None:
    request = event("GET", "/files")
    del request["requestContext"]["stage"]  # the local adapter need not name one
    response = web_handler.handler(request, None)
    assert (response["statusCode"], json.loads(response["body"])) == (200, {"files": []})


def test_an_unknown_route_is_404(stack: Stack, api: Any) -> None:
    assert api("GET", "/nothing/here", 404)["error"]
    assert api("DELETE", "/files", 404)["error"]


# --- GET /files, GET /files/{id} ----------------------------------------------------------


def test_b_never_sees_as_files(stack: Stack, api: Any) -> None:
    mine = new_upload(api, "mine.mov", 5)
    put(mine["put"]["url"], b"12345", mine["put"]["headers"])
    assert api("GET", "/files", 200, sub=B)["files"] == []
    assert api("GET", f"/files/{mine['id']}", 404, sub=B) == {"error": "no such file"}
    assert api("POST", f"/files/{mine['id']}/retry", 404, sub=B) == {"error": "no such file"}
    assert [f["id"] for f in api("GET", "/files", 200)["files"]] == [mine["id"]]
    assert api("GET", f"/files/{mine['id']}", 200)["id"] == mine["id"]


def test_ids_of_another_shape_are_not_found(stack: Stack, api: Any) -> None:
    for bad in ("nope", "20261128T105512Z-4F9C2A1B", "..", "%2e%2e"):
        api("GET", f"/files/{bad}", 404)


def test_files_are_listed_newest_first_and_capped(stack: Stack, api: Any) -> None:
    made = [new_upload(api, f"{n}.mov", 5) for n in range(3)]
    for answer in made:
        put(answer["put"]["url"], b"12345", answer["put"]["headers"])
    stack.s3.put_object(Bucket=stack.staging, Key=f"uploads/{A}/stray.mov", Body=b"x")  # not ours
    ids = [f["id"] for f in api("GET", "/files", 200)["files"]]
    assert ids == sorted((a["id"] for a in made), reverse=True)
    user = User(A, "a")
    capped = web_files.list_files(user, web_handler.services(), limit=2)
    assert [f["id"] for f in capped] == ids[:2]


def test_a_file_through_the_pipeline(stack: Stack, api: Any) -> None:
    answer = new_upload(api, "clip.mov", 11)
    put(answer["put"]["url"], b"hello world", answer["put"]["headers"])
    job = trigger_and_submit(stack)
    [listed] = api("GET", "/files", 200)["files"]
    assert (listed["status"], listed["job_id"], listed["progress"]) == (
        "SUBMITTED",
        job["jobId"],
        None,
    )

    completion_handler.handler(state_change(job, "RUNNING"), None)
    [entry] = ledger(stack).versions_of(stack.staging, answer["key"])
    key = primary_key(stack.staging, answer["key"], f"v#{entry.version_id}")
    assert ledger(stack).progress(key, job["jobId"], 42.5)
    shown = api("GET", f"/files/{answer['id']}", 200)
    assert (shown["status"], shown["progress"]) == ("RUNNING", 42.5)

    done = run_parameters(job["parameters"], job_id=job["jobId"])
    assert done.returncode == 0, done.stderr
    completion_handler.handler(state_change(job, "SUCCEEDED", container={"exitCode": 0}), None)
    shown = api("GET", f"/files/{answer['id']}", 200)
    assert (shown["status"], shown["progress"], shown["reason"]) == ("SUCCEEDED", None, None)
    output = shown["output"]
    output_bucket = stack.settings["CONVEYOR_OUTPUT_BUCKET"]
    head = stack.s3.head_object(Bucket=output_bucket, Key=output["key"])
    assert output["key"].startswith(f"uploads/{A}/{answer['id']}/clip.mov")
    assert output["size"] == head["ContentLength"] == 11
    query = parse_qs(urlparse(output["url"]).query)
    assert query["X-Amz-Expires"] == ["300"]
    name = output["key"].rsplit("/", 1)[1]
    assert query["response-content-disposition"] == [f"attachment; filename*=UTF-8''{name}"]
    with urlopen(output["url"]) as download:
        assert download.read() == b"hello world"
        assert download.headers["Content-Disposition"].startswith("attachment;")
    [version] = shown["history"]
    assert (version["status"], version["job_id"], version["version_id"]) == (
        "SUCCEEDED",
        job["jobId"],
        entry.version_id,
    )
    assert (shown["can_retry"], shown["size"]) == (False, 11)  # gone from staging, it says so
    assert api("POST", f"/files/{answer['id']}/retry", 409) == {
        "error": "it is SUCCEEDED, not FAILED"
    }


def test_an_output_without_a_recorded_size_is_looked_at(stack: Stack, api: Any) -> None:
    answer = new_upload(api, "clip.mov", 11)
    put(answer["put"]["url"], b"hello world", answer["put"]["headers"])
    job = trigger_and_submit(stack)
    assert batch_runs(job) == 0
    [entry] = ledger(stack).versions_of(stack.staging, answer["key"])
    ledger(stack).annotate(entry, {"metrics": {}})  # as if the worker had recorded no size
    [listed] = api("GET", "/files", 200)["files"]
    assert listed["output"]["size"] == 11
    bucket = stack.settings["CONVEYOR_OUTPUT_BUCKET"]
    stack.s3.delete_object(Bucket=bucket, Key=listed["output"]["key"])
    [listed] = api("GET", "/files", 200)["files"]
    assert (listed["status"], listed["output"]) == ("SUCCEEDED", None)  # nothing to download


# --- POST /files/{id}/retry ---------------------------------------------------------------


def failed_upload(
    stack: Stack, api: Any, monkeypatch: pytest.MonkeyPatch, name: str
) -> tuple[dict, dict]:
    """A file uploaded through the API whose job ran and FAILED (its command exits 3)."""
    failing = [{"match": "*", "transform": "command", "argv": ["sh", "-c", "exit 3"]}]
    monkeypatch.setenv("CONVEYOR_ROUTES", json.dumps(failing))
    trigger_handler.trigger.cache_clear()
    answer = new_upload(api, name, 11)
    put(answer["put"]["url"], b"hello world", answer["put"]["headers"])
    job = trigger_and_submit(stack)
    assert batch_runs(job) == 65
    return answer, job


def test_a_failed_file_is_retried_as_conveyor_resubmit_would(
    stack: Stack, api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer, job = failed_upload(stack, api, monkeypatch, "clip.mov")
    [listed] = api("GET", "/files", 200)["files"]
    assert (listed["status"], listed["can_retry"]) == ("FAILED", True)
    assert "exited with 3" in listed["reason"]

    assert api("POST", f"/files/{answer['id']}/retry", 404, sub=B) == {"error": "no such file"}
    retried = api("POST", f"/files/{answer['id']}/retry", 202)
    assert set(retried) == {"job_id"} and retried["job_id"] != job["jobId"]
    [entry] = ledger(stack).versions_of(stack.staging, answer["key"])
    assert (entry["status"], entry.job_id) == ("SUBMITTED", retried["job_id"])
    assert entry["history"][-1]["reason"] == (
        f"resubmission of job {job['jobId']} from the web page by user-{A[:4]}"
    )
    [new_job] = [j for j in jobs_by_key(stack)[answer["key"]] if j["jobId"] == retried["job_id"]]
    assert new_job["parameters"] == job["parameters"]  # the same job again
    conflict = api("POST", f"/files/{answer['id']}/retry", 409)
    assert conflict == {"error": "it is SUBMITTED, not FAILED"}

    assert batch_runs(new_job) == 65
    stack.s3.delete_object(Bucket=stack.staging, Key=answer["key"], VersionId=entry.version_id)
    [listed] = api("GET", "/files", 200)["files"]
    assert (listed["status"], listed["can_retry"]) == ("FAILED", False)
    refused = api("POST", f"/files/{answer['id']}/retry", 409)
    assert "no longer in staging" in refused["error"]


def test_two_retries_at_once_submit_one_job(
    stack: Stack, api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    answer, _ = failed_upload(stack, api, monkeypatch, "twice.mov")
    before = len(jobs_by_key(stack)[answer["key"]])
    # The second click arrives while the first one's SubmitJob is under way.
    from web_api import retry as retry_module

    real = retry_module.resubmit

    def slow(*args: Any, **kwargs: Any) -> str:
        time.sleep(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(retry_module, "resubmit", slow)
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: retry_answer(api, answer["id"]), range(2)))
    assert sorted(status for status, _ in answers) == [202, 409]
    assert {"error": "a retry of this file is already under way"} in [b for _, b in answers]
    assert len(jobs_by_key(stack)[answer["key"]]) == before + 1  # one new job, not two


def retry_answer(api: Any, file_id: str) -> tuple[int, dict]:
    """One request; its status and body, whatever they are."""
    response = web_handler.handler(event("POST", f"/files/{file_id}/retry"), None)
    return response["statusCode"], json.loads(response["body"])


def test_a_file_the_pipeline_has_not_seen_cannot_be_retried(stack: Stack, api: Any) -> None:
    answer = new_upload(api, "clip.mov", 5)
    put(answer["put"]["url"], b"12345", answer["put"]["headers"])
    assert api("POST", f"/files/{answer['id']}/retry", 409) == {
        "error": "it is not submitted yet, not FAILED"
    }
