"""The error answers a fault puts in place of moto's, shaped as each service sends them, so
botocore parses the same error code (and its standard retry mode classifies it the same way) as
it would from AWS: S3's XML `<Error>`, DynamoDB's and SQS's JSON `__type` (SQS with its
query-compatible header), Batch's REST JSON `x-amzn-ErrorType`."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from xml.sax.saxutils import escape

from conveyor_local.faults.request import Request

KINDS = ("500", "503", "throttle", "reset")
"""What a fault can be: an internal error, unavailable, the service's throttling error, or the
connection reset in the middle of the answer's body."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


# (status, code, message) per service and kind; "throttle" may list alternatives.
ERRORS: dict[str, dict[str, tuple[tuple[int, str, str], ...]]] = {
    "s3": {
        "500": ((500, "InternalError", "We encountered an internal error. Please try again."),),
        "503": ((503, "SlowDown", "Please reduce your request rate."),),
        "throttle": ((503, "SlowDown", "Please reduce your request rate."),),
    },
    "dynamodb": {
        "500": ((500, "InternalServerError", "Internal server error"),),
        "503": ((503, "ServiceUnavailable", "Service unavailable"),),
        "throttle": (
            (400, "ThrottlingException", "Rate of requests exceeds the allowed throughput."),
            (
                400,
                "ProvisionedThroughputExceededException",
                "The level of configured provisioned throughput for the table was exceeded.",
            ),
        ),
    },
    "sqs": {
        "500": ((500, "InternalError", "We encountered an internal error."),),
        "503": ((503, "ServiceUnavailable", "Service unavailable"),),
        "throttle": ((400, "RequestThrottled", "Rate exceeded"),),
    },
    "batch": {
        "500": ((500, "ServerException", "Internal server error"),),
        "503": ((503, "ServiceUnavailableException", "Service unavailable"),),
        "throttle": ((429, "TooManyRequestsException", "Too Many Requests"),),
    },
}
GENERIC = ERRORS["batch"]
"""Other services only get faults from explicit rules; their answer is a plain JSON error."""
JSON_TYPE_PREFIX = {"dynamodb": "com.amazonaws.dynamodb.v20120810#", "sqs": "com.amazonaws.sqs#"}


def error_answer(request: Request, kind: str, variant: int = 0) -> Answer:
    """The answer of a `kind` fault ("500", "503", "throttle") to `request`; `variant` picks one
    of the service's throttling errors where it has several."""
    choices = ERRORS.get(request.service, GENERIC)[kind]
    status, code, message = choices[variant % len(choices)]
    request_id = str(uuid.uuid4())
    if request.service == "s3":
        return _s3(request, status, code, message, request_id)
    if request.service in JSON_TYPE_PREFIX or "x-amz-target" in request.headers:
        return _json(request, status, code, message, request_id)
    body = json.dumps({"message": message}).encode()
    headers = (
        ("Content-Type", "application/json"),
        ("x-amzn-ErrorType", f"{code}:"),
        ("x-amzn-RequestId", request_id),
    )
    return Answer(status, headers, body)


def _s3(request: Request, status: int, code: str, message: str, request_id: str) -> Answer:
    headers = (("Content-Type", "application/xml"), ("x-amz-request-id", request_id))
    if request.method == "HEAD":  # S3 answers HEAD errors without a body: botocore sees the status
        return Answer(status, headers, b"")
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{escape(message)}</Message>"
        f"<RequestId>{request_id}</RequestId></Error>"
    ).encode()
    return Answer(status, headers, body)


def _json(request: Request, status: int, code: str, message: str, request_id: str) -> Answer:
    prefix = JSON_TYPE_PREFIX.get(request.service, "")
    body = json.dumps({"__type": prefix + code, "message": message}).encode()
    headers = [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-RequestId", request_id)]
    if request.service == "sqs":  # botocore takes the code of a query-compatible service from here
        fault = "Receiver" if status >= 500 else "Sender"
        headers.append(("x-amzn-query-error", f"{code};{fault}"))
    return Answer(status, tuple(headers), body)
