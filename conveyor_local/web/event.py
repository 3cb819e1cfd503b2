"""A request to the local page's `/api/...` as API Gateway's HTTP API hands it to the Lambda
(payload format 2.0), and the Lambda's answer back as an HTTP response: the handler runs locally
exactly as it runs on AWS."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote

from werkzeug.wrappers import Request

PREFIX = "/api"
"""Where the page finds the API locally (`config.json`'s `api`); the Lambda never sees it."""
ROUTE_KEY = "$default"
STAGE = "$default"
ACCOUNT_ID = "123456789012"
"""moto's account."""
API_ID = "local"


@dataclass
class Answer:
    """What goes back to the browser: status, headers (a header may repeat) and body."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def raw_path(request: Request) -> str:
    """The path as the client sent it (still percent-encoded, as API Gateway's `rawPath`)."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw:
        return raw.split("?", 1)[0]
    return quote(request.path, safe="/:@!$&'()*+,;=-._~")


def authorizer_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    """Claims as the JWT authorizer passes them: every value a string, numbers and booleans as
    their text, a list as `[a b]`, an object as JSON, a null dropped."""
    passed: dict[str, str] = {}
    for name, value in claims.items():
        if value is None:
            continue
        if isinstance(value, bool):
            passed[name] = "true" if value else "false"
        elif isinstance(value, list):
            passed[name] = "[" + " ".join(str(item) for item in value) + "]"
        elif isinstance(value, dict):
            passed[name] = json.dumps(value, separators=(",", ":"))
        else:
            passed[name] = str(value)
    return passed


def http_api_event(
    request: Request,
    *,
    claims: Mapping[str, Any] | None,
    request_id: str,
    now: datetime,
) -> dict[str, Any]:
    """The payload 2.0 event for `request`, its path without the `/api` prefix; `claims` (a
    verified token's) go where the JWT authorizer puts them."""
    path = raw_path(request).removeprefix(PREFIX) or "/"
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers.items():
        lower = name.lower()
        if lower == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        headers[lower] = f"{headers[lower]},{value}" if lower in headers else value
    context: dict[str, Any] = {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "domainName": request.host,
        "domainPrefix": request.host.split(".", 1)[0],
        "http": {
            "method": request.method,
            "path": path,
            "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "sourceIp": request.remote_addr or "",
            "userAgent": request.headers.get("User-Agent", ""),
        },
        "requestId": request_id,
        "routeKey": ROUTE_KEY,
        "stage": STAGE,
        "time": now.astimezone(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now.timestamp() * 1000),
    }
    if claims is not None:
        context["authorizer"] = {"jwt": {"claims": authorizer_claims(claims), "scopes": None}}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": ROUTE_KEY,
        "rawPath": path,
        "rawQueryString": request.query_string.decode("latin-1"),
        "headers": headers,
        "requestContext": context,
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    query: dict[str, str] = {}
    for name, value in parse_qsl(event["rawQueryString"], keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    if query:
        event["queryStringParameters"] = query
    body = request.get_data(cache=False)
    if body:
        try:
            event["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
    return event


def lambda_answer(result: Any) -> Answer:
    """The HTTP response API Gateway makes of a payload 2.0 Lambda result: a dict with a
    `statusCode` is taken as it is; anything else is JSON with status 200. A malformed result
    is a 500, as API Gateway's own."""
    if not (isinstance(result, dict) and "statusCode" in result):
        body = result if isinstance(result, str) else json.dumps(result)
        return Answer(200, [("Content-Type", "application/json")], body.encode())
    status = result["statusCode"]
    headers = result.get("headers") or {}
    if not isinstance(status, int) or not 100 <= status <= 599 or not isinstance(headers, dict):
        return failure()
    pairs = [(str(name), str(value)) for name, value in headers.items()]
    pairs.extend(("Set-Cookie", str(cookie)) for cookie in result.get("cookies") or [])
    body = result.get("body") or ""
    try:
        if result.get("isBase64Encoded"):
            data = base64.b64decode(body, validate=True)
        else:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    except (binascii.Error, TypeError, ValueError):
        return failure()
    return Answer(status, pairs, data)


def failure() -> Answer:
    """The API's answer when its handler raised or returned nonsense (the local log says why)."""
    return error(500, "the API failed: the local stack's log says why")


def error(status: int, message: str, *extra: tuple[str, str]) -> Answer:
    """An error in the API's own shape, `{"error": "<one sentence>"}`."""
    body = json.dumps({"error": message}).encode()
    return Answer(status, [("Content-Type", "application/json"), *extra], body)
