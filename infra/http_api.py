"""The page's API: an HTTP API whose every route needs a Cognito access token (checked by API
Gateway's JWT authorizer before the web_api Lambda runs), logged and throttled.

CORS is answered by the Lambda (Powertools' CORSConfig, for CONVEYOR_WEB_ORIGIN alone), not by
the API's own CORS configuration: that would have to name the CloudFront domain, while the
distribution's CSP names the API, and CloudFormation cannot create two resources that each need
the other's name first. Preflights (OPTIONS, which browsers send without a token) reach the
Lambda through the one route without an authorizer; it answers them and nothing else.
"""

from __future__ import annotations

import json

import jsii
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

ROUTES = (
    ("POST", "/uploads"),
    ("POST", "/uploads/{id}/credentials"),
    ("GET", "/files"),
    ("GET", "/files/{id}"),
    ("POST", "/files/{id}/retry"),
)
"""Every route web_api.handler answers (tests/infra/test_web.py compares the two)."""
PREFLIGHT = ("OPTIONS", "/{proxy+}")
RATE_LIMIT = 100
"""Requests per second across the API: each open page polls GET /files every 3 s."""
BURST_LIMIT = 200
ACCESS_LOG = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "time": "$context.requestTime",
    "route": "$context.routeKey",
    "status": "$context.status",
    "latency": "$context.responseLatency",
    "responseLength": "$context.responseLength",
    "user": "$context.authorizer.claims.sub",
    "authorizerError": "$context.authorizer.error",
    "integrationError": "$context.integrationErrorMessage",
}
"""One JSON line per request: who (the token's sub), what, and how it ended."""


@jsii.implements(apigw.IAccessLogSettings)
class AccessLogs:
    """ACCESS_LOG lines into `log_group` (IAccessLogSettings is an interface, not a struct)."""

    def __init__(self, log_group: logs.ILogGroup) -> None:
        self._destination = apigw.LogGroupLogDestination(log_group)

    @property
    def destination(self) -> apigw.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigateway.AccessLogFormat:
        return apigateway.AccessLogFormat.custom(json.dumps(ACCESS_LOG))


class HttpApi(Construct):
    """The API and its logged, throttled stage; `url` is its base URL (no trailing slash), which
    the page and its CSP name. `route` sends every route to the handler once the page's client
    (the tokens' audience) exists."""

    def __init__(self, scope: Construct, id: str, *, log_retention: logs.RetentionDays) -> None:
        super().__init__(scope, id)
        self.api = apigw.HttpApi(
            self, "Api", description="Conveyor upload page API", create_default_stage=False
        )
        log_group = logs.LogGroup(self, "AccessLogs", retention=log_retention)
        self.stage = apigw.HttpStage(
            self,
            "Default",
            http_api=self.api,
            auto_deploy=True,
            throttle=apigw.ThrottleSettings(rate_limit=RATE_LIMIT, burst_limit=BURST_LIMIT),
            access_log_settings=AccessLogs(log_group),
        )
        self.url = self.api.api_endpoint

    def route(self, handler: lambda_.IFunction, *, issuer: str, client_id: str) -> None:
        """ROUTES behind the JWT authorizer (issuer, and the page's client as audience), and
        the preflight route without it."""
        authorizer = authorizers.HttpJwtAuthorizer(
            "CognitoAccessToken", issuer, jwt_audience=[client_id]
        )
        integration = integrations.HttpLambdaIntegration("WebApi", handler)
        for method, path in ROUTES:
            self.api.add_routes(
                path=path,
                methods=[apigw.HttpMethod(method)],
                integration=integration,
                authorizer=authorizer,
            )
        method, path = PREFLIGHT
        [self.preflight] = self.api.add_routes(
            path=path,
            methods=[apigw.HttpMethod(method)],
            integration=integration,
            authorizer=apigw.HttpNoneAuthorizer(),
        )
