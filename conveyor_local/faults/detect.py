"""Which AWS service and operation a botocore-shaped request is for: pure functions of its
method, path, query and headers.

The SigV4 credential scope (Authorization header, or X-Amz-Credential of a presigned URL) names
the service; unsigned requests are recognised by their X-Amz-Target. JSON protocols (DynamoDB,
SQS, Cognito) name the operation in X-Amz-Target; REST JSON (Batch) by method and path, read
from botocore's own service model; S3 (REST XML) by method, path, subresource and copy header.
"""

from __future__ import annotations

import re
from functools import cache
from urllib.parse import unquote

KNOWN = frozenset({"s3", "sqs", "dynamodb", "batch", "sts", "cognito-idp", "iam"})
SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/([^/]+)/aws4_request")
TARGET_PREFIXES = {
    "DynamoDB_": "dynamodb",
    "AmazonSQS.": "sqs",
    "AWSCognitoIdentityProviderService.": "cognito-idp",
}
S3_BUCKET_SUBRESOURCES = {
    "versioning": "Versioning",
    "notification": "NotificationConfiguration",
    "cors": "Cors",
    "lifecycle": "LifecycleConfiguration",
    "policy": "Policy",
    "tagging": "Tagging",
    "encryption": "Encryption",
    "publicAccessBlock": "PublicAccessBlock",
    "ownershipControls": "OwnershipControls",
    "location": "Location",
    "acl": "Acl",
}
VERBS = {"GET": "Get", "PUT": "Put", "DELETE": "Delete"}


def service_of(path: str, query: dict[str, list[str]], headers: dict[str, str]) -> str:
    """The service a request is for; "other" for moto's own API and what cannot be told."""
    if path.startswith("/moto-api"):
        return "other"
    scope = SCOPE.search(headers.get("authorization", ""))
    if scope is None and "X-Amz-Credential" in query:
        scope = SCOPE.search("Credential=" + query["X-Amz-Credential"][0])
    if scope is not None:
        return scope.group(1) if scope.group(1) in KNOWN else "other"
    if headers.get("authorization", "").startswith("AWS ") or "AWSAccessKeyId" in query:
        return "s3"  # Signature V2: only S3 still takes it
    target = headers.get("x-amz-target", "")
    for prefix, service in TARGET_PREFIXES.items():
        if target.startswith(prefix):
            return service
    return "other"


def operation_of(
    service: str, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str]
) -> str:
    """The operation's name as in the API reference, or "" when it cannot be told."""
    target = headers.get("x-amz-target", "")
    if target:
        return target.rsplit(".", 1)[-1]
    if service == "s3":
        return s3_operation(method, path, query, headers)
    if service == "batch":
        return rest_operation("batch", method, path)
    if "Action" in query:
        return query["Action"][0]
    return ""


def resource_of(service: str, path: str) -> str:
    """An S3 request's `bucket/key` (or bucket); "" for services whose path names nothing."""
    return unquote(path).strip("/") if service == "s3" else ""


def s3_operation(
    method: str, path: str, query: dict[str, list[str]], headers: dict[str, str]
) -> str:
    """An S3 operation from a path-style request (the local endpoint's style)."""
    bucket, _, key = path.lstrip("/").partition("/")
    copy = "x-amz-copy-source" in headers
    if not bucket:
        return "ListBuckets" if method == "GET" else ""
    if not key:
        return _s3_bucket_operation(method, query)
    if "uploadId" in query:
        if method == "PUT":
            return "UploadPartCopy" if copy else "UploadPart"
        return {"POST": "CompleteMultipartUpload", "GET": "ListParts"}.get(
            method, "AbortMultipartUpload" if method == "DELETE" else ""
        )
    if method == "POST" and "uploads" in query:
        return "CreateMultipartUpload"
    if "tagging" in query and method in VERBS:
        return f"{VERBS[method]}ObjectTagging"
    if method == "GET" and "attributes" in query:
        return "GetObjectAttributes"
    if method == "PUT":
        return "CopyObject" if copy else "PutObject"
    return {
        "GET": "GetObject",
        "HEAD": "HeadObject",
        "DELETE": "DeleteObject",
        "OPTIONS": "PreflightObject",
    }.get(method, "")


def _s3_bucket_operation(method: str, query: dict[str, list[str]]) -> str:
    if method == "GET":
        if "uploads" in query:
            return "ListMultipartUploads"
        if "versions" in query:
            return "ListObjectVersions"
        if "list-type" in query:
            return "ListObjectsV2"
    if method == "POST" and "delete" in query:
        return "DeleteObjects"
    for name, operation in S3_BUCKET_SUBRESOURCES.items():
        if name in query and method in VERBS:
            return f"{VERBS[method]}Bucket{operation}"
    return {
        "GET": "ListObjects",
        "HEAD": "HeadBucket",
        "PUT": "CreateBucket",
        "DELETE": "DeleteBucket",
        "POST": "PostObject",
    }.get(method, "")


def rest_operation(service: str, method: str, path: str) -> str:
    """A REST JSON operation, matched against the request URIs of botocore's service model."""
    for verb, pattern, name in _routes(service):
        if verb == method and pattern.fullmatch(path):
            return name
    return ""


@cache
def _routes(service: str) -> tuple[tuple[str, re.Pattern[str], str], ...]:
    import botocore.session

    model = botocore.session.get_session().get_service_model(service)
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri = http["requestUri"].split("?", 1)[0]
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(uri))
        routes.append((http["method"], re.compile(pattern), name))
    return tuple(routes)
