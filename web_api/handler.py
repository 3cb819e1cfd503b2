"""Lambda entry point behind API Gateway's HTTP API: parse the request, call a service, answer.

API Gateway's JWT authorizer has verified the Cognito access token before this runs; the caller
is the `sub` of its claims (locally, the local server verifies the token and puts the claims at
the same place). Every answer is JSON; an error is `{"error": "<one sentence>"}`.
"""

from __future__ import annotations

import json
import os
from functools import cache
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import (
    APIGatewayHttpResolver,
    CORSConfig,
    Response,
    content_types,
)
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from conveyor.errors import ConfigError
from web_api import files, retry, uploads
from web_api.auth import User, user_of
from web_api.errors import ApiError, BadRequest
from web_api.factory import Services, build_services
from web_api.validation import parse_upload

logger = Logger(service="conveyor-web")
copy_config_to_registered_loggers(source_logger=logger, include={"conveyor", "web_api"})
NO_STORE = {"Cache-Control": "no-store"}
"""Answers carry presigned URLs and credentials: no cache keeps them."""


@cache
def services() -> Services:
    """Built once per container (clients and settings); in Lambda at cold start, see below."""
    return build_services()


@cache
def app() -> APIGatewayHttpResolver:
    """The routes, with CORS for the page's origin alone (read from the settings)."""
    cors = CORSConfig(
        allow_origin=services().config.origin,
        allow_headers=["Authorization", "Content-Type"],
        allow_credentials=False,
        max_age=600,  # a browser asks again every 10 minutes, not before every call
    )
    resolver = APIGatewayHttpResolver(cors=cors)
    routes(resolver)
    return resolver


def cold_start() -> None:
    """Build everything now, so a bad setting fails Lambda's init in one log line."""
    try:
        app()
    except ConfigError as err:
        logger.error(f"cannot start: {err}")
        raise


if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):  # set by Lambda; tests import this module
    cold_start()  # before their settings exist, and build on first use


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    context_of_request = event.get("requestContext")
    if isinstance(context_of_request, dict):
        context_of_request.setdefault("stage", "$default")  # as API Gateway's default stage
    return app().resolve(event, context)


def routes(api: APIGatewayHttpResolver) -> None:
    """Each route parses, calls its service, answers."""

    def caller() -> User:
        return user_of(api.current_event.request_context.authorizer.jwt_claim)

    @api.post("/uploads")
    def start_upload() -> Response[Any]:
        user = caller()
        request = parse_upload(_json_body(api))
        return answer(HTTPStatus.CREATED, uploads.start_upload(request, user, services()))

    @api.post("/uploads/<file_id>/credentials")
    def renew_credentials(file_id: str) -> Response[Any]:
        user = caller()
        return answer(HTTPStatus.OK, uploads.renew_credentials(file_id, user, services()))

    @api.get("/files")
    def list_files() -> Response[Any]:
        user = caller()
        return answer(HTTPStatus.OK, {"files": files.list_files(user, services())})

    @api.get("/files/<file_id>")
    def get_file(file_id: str) -> Response[Any]:
        user = caller()
        return answer(HTTPStatus.OK, files.get_file(user, file_id, services()))

    @api.post("/files/<file_id>/retry")
    def retry_file(file_id: str) -> Response[Any]:
        user = caller()
        return answer(HTTPStatus.ACCEPTED, {"job_id": retry.retry(user, file_id, services())})

    @api.exception_handler(ApiError)
    def refused(err: ApiError) -> Response[Any]:
        return answer(HTTPStatus(err.status), {"error": str(err)})

    @api.not_found
    def no_route(err: NotFoundError) -> Response[Any]:
        return answer(HTTPStatus.NOT_FOUND, {"error": "No such route."})

    @api.exception_handler(Exception)
    def failed(err: Exception) -> Response[Any]:
        logger.exception("request failed")
        return answer(
            HTTPStatus.INTERNAL_SERVER_ERROR,
            {"error": "Something went wrong on our side; try again in a moment."},
        )


def answer(status: HTTPStatus, body: dict[str, Any]) -> Response[Any]:
    return Response(
        status_code=status.value,
        content_type=content_types.APPLICATION_JSON,
        body=body,
        headers=NO_STORE,
    )


def _json_body(api: APIGatewayHttpResolver) -> Any:
    try:
        return json.loads(api.current_event.decoded_body or "")
    except (ValueError, UnicodeDecodeError) as err:
        raise BadRequest("The body must be JSON: an object with name, size and type.") from err
