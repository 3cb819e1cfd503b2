"""The local web app: the page's files, its `config.json`, sign-in, and the API behind a token
check, in one WSGI app. Each part answers as its AWS counterpart does (CloudFront and its headers
policy, Cognito, API Gateway's JWT authorizer and Lambda integration)."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import send_file
from werkzeug.wrappers import Request, Response

from conveyor import settings
from conveyor_local.web import static
from conveyor_local.web.config import local_config
from conveyor_local.web.event import PREFIX, Answer, error, failure, http_api_event, lambda_answer
from conveyor_local.web.headers import security_headers
from conveyor_local.web.lambda_context import LambdaContext
from conveyor_local.web.session import SignInRefused, credentials, sign_in
from conveyor_local.web.tokens import (
    KeySet,
    KeysUnavailable,
    TokenRefused,
    Verifier,
    issuer,
    jwks_url,
)

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], Any]
SESSION = f"{PREFIX}/session"
CONFIG = "/config.json"
MAX_BODY = 1024 * 1024
"""Bytes an API request may carry: the API takes small JSON bodies only (files go to S3)."""
READS = ("GET", "HEAD")


def web_api_handler(event: dict[str, Any], context: Any) -> Any:
    """The API's Lambda handler, imported when first called (the API is its own package)."""
    from web_api.handler import handler

    return handler(event, context)


@dataclass
class WebApp:
    """Everything the app needs, built by the local stack (or a test) and passed in."""

    config: dict[str, Any]
    verifier: Verifier
    cognito: Any
    client_id: str
    hosts: tuple[str, ...]
    """Host headers answered (`127.0.0.1:<port>`, `localhost:<port>`): a page on another name
    rebound to 127.0.0.1 gets nothing."""
    handler: Handler = web_api_handler
    site: Path = static.SITE
    headers: list[tuple[str, str]] = field(init=False)

    def __post_init__(self) -> None:
        self.headers = security_headers(self.config["s3"]["endpoint"])

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable:
        request = Request(environ)
        request.max_content_length = MAX_BODY
        response = self.respond(request)
        for name, value in self.headers:
            response.headers[name] = value
        return response(environ, start_response)

    def respond(self, request: Request) -> Response:
        if request.host not in self.hosts:
            return reply(error(400, f"this server answers only for {' or '.join(self.hosts)}"))
        path = request.path
        if path == SESSION:
            return self.session(request)
        if path == PREFIX or path.startswith(PREFIX + "/"):
            return reply(self.api(request))
        if request.method not in READS:
            return reply(error(405, "the page's files can only be read", ("Allow", "GET, HEAD")))
        if path == CONFIG:
            response = Response(json.dumps(self.config), content_type="application/json")
            response.headers["Cache-Control"] = "no-store"
            return response
        return self.file(request)

    def file(self, request: Request) -> Response:
        found = static.find(self.site, request.path)
        if found is None:
            if request.path == "/":
                return Response(static.MISSING, status=503, content_type="text/html; charset=utf-8")
            return Response("not found\n", status=404, content_type="text/plain; charset=utf-8")
        response = send_file(found, request.environ, mimetype=static.content_type(found))
        response.headers["Content-Type"] = static.content_type(found)
        response.headers["Cache-Control"] = "no-cache"
        return response

    def session(self, request: Request) -> Response:
        if request.method != "POST":
            return reply(error(405, "sign in with POST", ("Allow", "POST")))
        try:
            body = json.loads(request.get_data())
        except RequestEntityTooLarge:
            return reply(error(413, "the request body is too large"))
        except ValueError:
            body = None
        try:
            username, password = credentials(body)
        except ValueError as err:
            return reply(error(400, str(err)))
        try:
            tokens = sign_in(
                self.cognito, client_id=self.client_id, username=username, password=password
            )
        except SignInRefused as err:
            return reply(error(401, str(err)))
        response = Response(json.dumps(tokens), content_type="application/json")
        response.headers["Cache-Control"] = "no-store"
        return response

    def api(self, request: Request) -> Answer:
        claims = None
        if request.method != "OPTIONS":  # a CORS preflight carries no token; the API answers it
            try:
                claims = self.verifier.verify(bearer(request.headers.get("Authorization")))
            except TokenRefused as err:
                challenge = f'Bearer error="invalid_token", error_description="{quoted(err)}"'
                return error(401, str(err), ("WWW-Authenticate", challenge))
            except KeysUnavailable:
                logger.exception("verifying a token")
                return error(
                    503, "cannot check the sign-in now: the user pool's keys are unreadable"
                )
        request_id = str(uuid.uuid4())
        try:
            event = http_api_event(
                request, claims=claims, request_id=request_id, now=datetime.now(UTC)
            )
        except RequestEntityTooLarge:
            return error(413, "the request body is too large")
        try:
            return lambda_answer(self.handler(event, LambdaContext.for_request(request_id)))
        except Exception:
            logger.exception("the web API's handler failed on %s %s", request.method, request.path)
            return failure()


def bearer(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header; TokenRefused without one."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenRefused("sign in first: the request has no bearer token")
    return token.strip()


def reply(answer: Answer) -> Response:
    return Response(answer.body, status=answer.status, headers=answer.headers)


def quoted(reason: object) -> str:
    """A reason fit for a quoted header parameter: printable ASCII, no double quotes."""
    return "".join(c if " " <= c <= "~" and c not in '"\\' else "'" for c in str(reason))


def local_web_app(
    *,
    endpoint: str,
    region: str,
    values: dict[str, str],
    cognito: Any,
    hosts: tuple[str, ...],
    handler: Handler = web_api_handler,
    site: Path = static.SITE,
) -> WebApp:
    """The app for a local stack at `endpoint` whose settings are `values` (the staging bucket,
    the user pool and its client)."""
    pool_id = values[settings.USER_POOL_ID]
    client_id = values[settings.USER_POOL_CLIENT_ID]
    verifier = Verifier(
        keys=KeySet(jwks_url(endpoint, pool_id)),
        issuer=issuer(region, pool_id),
        client_id=client_id,
    )
    return WebApp(
        config=local_config(
            s3_endpoint=endpoint, region=region, bucket=values[settings.STAGING_BUCKET]
        ),
        verifier=verifier,
        cognito=cognito,
        client_id=client_id,
        hosts=hosts,
        handler=handler,
        site=site,
    )
