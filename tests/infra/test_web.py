"""The upload page on AWS, from the synthesized template: sign-in, the API and its authorizer, the
web API's permissions, the page's bucket, distribution, headers and config, and the outputs."""

from __future__ import annotations

import json
import os
import re
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")  # node 20 here

import aws_cdk as cdk
from aws_cdk.assertions import Annotations, Match, Template
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, CORSConfig

from conveyor import settings
from conveyor.settings import output_name
from infra.app import build
from infra.auth import domain_prefix
from infra.http_api import PREFLIGHT, ROUTES
from infra.page import CLOUDFRONT_ORIGINS, content_security_policy, page_folder
from infra.stack import PAGE_URL_OUTPUT
from infra.web import UPLOADS
from web_api import handler as web_handler
from web_api import keys as web_keys

ISSUER = "arn:aws:iam::111111111111:role/ops"


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A built page stands in for `make web`'s: the stack deploys whatever folder it is given."""
    folder = tmp_path_factory.mktemp("dist")
    (folder / "index.html").write_text("<!doctype html><title>test page</title>")
    (folder / "main.js").write_text("console.log('page')")
    return folder


@pytest.fixture(scope="module")
def synthesized(page: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[cdk.Stack, Template]:
    outdir = tmp_path_factory.mktemp("cdk.out")
    context = {"web_dist": str(page), "upload_issuers": ISSUER}
    app, stack = build(cdk.App(outdir=str(outdir), context=context))
    app.synth()
    return stack, Template.from_stack(stack)


def only(template: Template, kind: str) -> dict[str, Any]:
    return template.find_resources(kind)


def single(template: Template, kind: str) -> tuple[str, dict[str, Any]]:
    [(name, resource)] = only(template, kind).items()
    return name, resource["Properties"]


def named(template: Template, kind: str, prefix: str) -> tuple[str, dict[str, Any]]:
    [(name, props)] = [
        (n, r["Properties"]) for n, r in only(template, kind).items() if n.startswith(prefix)
    ]
    return name, props


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def distribution_domain(template: Template) -> dict[str, Any]:
    name, _ = single(template, "AWS::CloudFront::Distribution")
    return {"Fn::GetAtt": [name, "DomainName"]}


def web_api_function(template: Template) -> tuple[str, dict[str, Any]]:
    [(name, props)] = [
        (n, f["Properties"])
        for n, f in only(template, "AWS::Lambda::Function").items()
        if f["Properties"].get("Handler") == "web_api.handler.handler"
    ]
    return name, props


# --- sign-in ----------------------------------------------------------------------------------


def test_the_page_client_is_public_and_uses_the_code_flow_to_the_page_only(
    synthesized: Any,
) -> None:
    _, template = synthesized
    pool, _ = single(template, "AWS::Cognito::UserPool")
    _, client = single(template, "AWS::Cognito::UserPoolClient")
    assert client["GenerateSecret"] is False  # public: the page proves itself with PKCE
    assert client["AllowedOAuthFlows"] == ["code"]
    assert client["AllowedOAuthFlowsUserPoolClient"] is True
    assert client["AllowedOAuthScopes"] == ["openid", "email", "profile"]
    assert client["SupportedIdentityProviders"] == ["COGNITO"]
    page_url = {"Fn::Join": ["", ["https://", distribution_domain(template), "/"]]}
    assert client["CallbackURLs"] == client["LogoutURLs"] == [page_url]
    assert "ALLOW_USER_PASSWORD_AUTH" not in client["ExplicitAuthFlows"]
    assert (client["AccessTokenValidity"], client["TokenValidityUnits"]["AccessToken"]) == (
        60,
        "minutes",
    )
    assert client["RefreshTokenValidity"] == 24 * 60
    assert client["EnableTokenRevocation"] is True
    assert client["UserPoolId"] == {"Ref": pool}


def test_only_administrators_add_people_with_strong_passwords_and_threat_protection(
    synthesized: Any,
) -> None:
    _, template = synthesized
    pool_id, pool = single(template, "AWS::Cognito::UserPool")
    assert pool["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True}
    assert pool["AliasAttributes"] == ["email"]
    assert pool["Policies"]["PasswordPolicy"] == {
        "MinimumLength": 12,
        "RequireLowercase": True,
        "RequireNumbers": True,
        "RequireSymbols": True,
        "RequireUppercase": True,
        "TemporaryPasswordValidityDays": 3,
    }
    assert (pool["MfaConfiguration"], pool["EnabledMfas"]) == ("OPTIONAL", ["SOFTWARE_TOKEN_MFA"])
    assert pool["UserPoolTier"] == "PLUS"
    assert pool["UserPoolAddOns"] == {"AdvancedSecurityMode": "ENFORCED"}
    _, domain = single(template, "AWS::Cognito::UserPoolDomain")
    assert domain["ManagedLoginVersion"] == 2
    assert domain["Domain"] == {"Fn::Join": ["", ["conveyor-", {"Ref": "AWS::AccountId"}]]}
    # Managed login shows a client's page only once the client has a style.
    client_id, _ = single(template, "AWS::Cognito::UserPoolClient")
    _, style = single(template, "AWS::Cognito::ManagedLoginBranding")
    assert style == {
        "ClientId": {"Ref": client_id},
        "UseCognitoProvidedValues": True,
        "UserPoolId": {"Ref": pool_id},
    }


def test_the_domain_prefix_is_the_stack_name_and_account_or_refused_with_the_way_out() -> None:
    assert domain_prefix("MediaPipeline") == ("mediapipeline", True)
    assert domain_prefix("Conveyor", "uploads-example") == ("uploads-example", False)
    for name, override in (("AwsUploads", None), ("x" * 51, None), ("C", "Bad_Prefix")):
        with pytest.raises(ValueError, match="-c auth_domain_prefix=NAME"):
            domain_prefix(name, override)


# --- the API ----------------------------------------------------------------------------------


def test_every_route_needs_a_cognito_access_token_of_the_page_client(synthesized: Any) -> None:
    _, template = synthesized
    authorizer_id, authorizer = single(template, "AWS::ApiGatewayV2::Authorizer")
    pool, _ = single(template, "AWS::Cognito::UserPool")
    client, _ = single(template, "AWS::Cognito::UserPoolClient")
    assert authorizer["AuthorizerType"] == "JWT"
    assert authorizer["IdentitySource"] == ["$request.header.Authorization"]
    assert authorizer["JwtConfiguration"] == {
        "Audience": [{"Ref": client}],
        "Issuer": {
            "Fn::Join": [
                "",
                ["https://cognito-idp.", {"Ref": "AWS::Region"}, ".amazonaws.com/", {"Ref": pool}],
            ]
        },
    }
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in only(template, "AWS::ApiGatewayV2::Route").values()
    }
    assert set(routes) == {f"{m} {p}" for m, p in (*ROUTES, PREFLIGHT)}
    for method, path in ROUTES:
        route = routes[f"{method} {path}"]
        assert route["AuthorizationType"] == "JWT"
        assert route["AuthorizerId"] == {"Ref": authorizer_id}
    # Preflights only: browsers send them without a token.
    assert routes[" ".join(PREFLIGHT)]["AuthorizationType"] == "NONE"
    integrations = only(template, "AWS::ApiGatewayV2::Integration").values()
    function, _ = web_api_function(template)
    assert [i["Properties"]["IntegrationUri"] for i in integrations] == [
        {"Fn::GetAtt": [function, "Arn"]}
    ]


def normalized(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_the_api_routes_are_the_ones_the_web_api_answers() -> None:
    resolver = APIGatewayHttpResolver()
    web_handler.routes(resolver)
    answered = {
        (r.method, normalized(r.openapi_path))
        for r in resolver._static_routes + resolver._dynamic_routes
    }
    assert answered == {(m, normalized(p)) for m, p in ROUTES}
    assert UPLOADS == web_keys.UPLOADS  # the web API's permissions stop where its keys are


def test_the_web_api_answers_a_preflight_without_a_token_or_running_a_route() -> None:
    """What the unauthorized OPTIONS route relies on."""
    origin = "https://d111111abcdef8.cloudfront.net"
    resolver = APIGatewayHttpResolver(cors=CORSConfig(allow_origin=origin))
    web_handler.routes(resolver)
    event = {
        "version": "2.0",
        "routeKey": "OPTIONS /{proxy+}",
        "rawPath": "/files/20261128T105512Z-4f9c2a1b/retry",
        "rawQueryString": "",
        "headers": {"origin": origin, "access-control-request-method": "POST"},
        "requestContext": {
            "http": {"method": "OPTIONS", "path": "/files/20261128T105512Z-4f9c2a1b/retry"},
            "stage": "$default",
        },
        "isBase64Encoded": False,
    }
    answer = resolver.resolve(event, None)
    assert answer["statusCode"] == 204
    assert answer["headers"]["Access-Control-Allow-Origin"] == origin
    assert "POST" in answer["headers"]["Access-Control-Allow-Methods"]


def test_the_api_logs_every_request_with_its_user_and_is_throttled(synthesized: Any) -> None:
    _, template = synthesized
    _, stage = single(template, "AWS::ApiGatewayV2::Stage")
    assert stage["StageName"] == "$default" and stage["AutoDeploy"] is True
    assert stage["DefaultRouteSettings"] == {
        "ThrottlingBurstLimit": 200,
        "ThrottlingRateLimit": 100,
    }
    log_group = stage["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0]
    assert only(template, "AWS::Logs::LogGroup")[log_group]["Properties"]["RetentionInDays"] == 30
    line = json.loads(stage["AccessLogSettings"]["Format"])
    assert line["requestId"] == "$context.requestId"
    assert line["user"] == "$context.authorizer.claims.sub"


# --- the web API's function and permissions -----------------------------------------------------


def test_the_web_api_runs_like_the_other_functions_with_the_settings_it_reads(
    synthesized: Any,
) -> None:
    _, template = synthesized
    _, function = web_api_function(template)
    [trigger] = [
        f["Properties"]
        for f in only(template, "AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == "trigger_lambda.handler.handler"
    ]
    for same in ("Runtime", "Layers", "Code", "Architectures"):
        assert function[same] == trigger[same], same
    assert function["Timeout"] < 30  # API Gateway answers 503 after 30 s
    env = function["Environment"]["Variables"]
    upload_role, _ = named(template, "AWS::IAM::Role", "UploadRole")
    assert env[settings.WEB_ORIGIN] == {
        "Fn::Join": ["", ["https://", distribution_domain(template)]]
    }
    assert env[settings.UPLOAD_ROLE_ARN] == {"Fn::GetAtt": [upload_role, "Arn"]}
    for setting in (
        settings.STAGING_BUCKET,
        settings.LEDGER_TABLE,
        settings.JOB_QUEUE,
        settings.JOB_DEFINITION,
    ):
        assert setting in env


def web_api_statements(template: Template) -> list[dict[str, Any]]:
    _, function = web_api_function(template)
    role = {"Ref": function["Role"]["Fn::GetAtt"][0]}
    return [
        statement
        for policy in only(template, "AWS::IAM::Policy").values()
        if role in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_the_web_api_may_do_what_its_routes_need_and_no_more(synthesized: Any) -> None:
    _, template = synthesized
    statements = web_api_statements(template)
    assert all(s["Effect"] == "Allow" for s in statements)
    for statement in statements:
        for action in listed(statement["Action"]):
            assert "*" not in action, action
        if listed(statement["Action"]) == ["batch:ListJobs"]:
            continue  # takes no narrower resource; lists jobs only (conveyor.submit_once)
        assert "*" not in listed(statement["Resource"]), statement  # no resource-less action
    staging, _ = named(template, "AWS::S3::Bucket", "StorageStaging")
    output, _ = named(template, "AWS::S3::Bucket", "StorageOutput")
    table, _ = single(template, "AWS::DynamoDB::GlobalTable")
    upload_role, _ = named(template, "AWS::IAM::Role", "UploadRole")

    def objects(bucket: str, prefix: str) -> dict[str, Any]:
        return {"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, f"/{prefix}*"]]}

    granted: dict[str, list[Any]] = {}
    for statement in statements:
        for action in listed(statement["Action"]):
            if not action.startswith("logs:"):
                granted.setdefault(action, []).extend(listed(statement["Resource"]))
    assert granted.pop("batch:SubmitJob")  # the route targets: test_alarms_and_routes.py
    assert granted == {
        "s3:PutObject": [objects(staging, "uploads/")],  # the presigned PUTs' signer
        "s3:GetObject": [objects(staging, "uploads/"), objects(output, "")],
        "s3:GetObjectVersion": [objects(staging, "uploads/")],
        "s3:ListBucket": [{"Fn::GetAtt": [staging, "Arn"]}, {"Fn::GetAtt": [output, "Arn"]}],
        "s3:ListBucketMultipartUploads": [{"Fn::GetAtt": [staging, "Arn"]}],
        "dynamodb:GetItem": [{"Fn::GetAtt": [table, "Arn"]}],
        "dynamodb:PutItem": [{"Fn::GetAtt": [table, "Arn"]}],
        "dynamodb:UpdateItem": [{"Fn::GetAtt": [table, "Arn"]}],
        "dynamodb:Query": [
            {"Fn::Join": ["", [{"Fn::GetAtt": [table, "Arn"]}, "/index/by_bucket"]]}
        ],
        "sts:AssumeRole": [{"Fn::GetAtt": [upload_role, "Arn"]}],
        "sts:TagSession": [{"Fn::GetAtt": [upload_role, "Arn"]}],
        "batch:ListJobs": ["*"],
    }
    [items] = [s for s in statements if "dynamodb:PutItem" in listed(s["Action"])]
    assert items["Condition"] == {
        "ForAllValues:StringLike": {
            "dynamodb:LeadingKeys": [{"Fn::Join": ["", [{"Ref": staging}, "/uploads/*"]]}]
        }
    }
    [tagging] = [s for s in statements if s["Action"] == "sts:TagSession"]
    assert tagging["Condition"] == {
        "StringLike": {"aws:RequestTag/conveyor-prefix": "uploads/*"},
        "ForAllValues:StringEquals": {"aws:TagKeys": ["conveyor-prefix"]},
    }


def test_the_upload_role_trusts_the_web_api_with_session_tags(synthesized: Any) -> None:
    _, template = synthesized
    _, role = named(template, "AWS::IAM::Role", "UploadRole")
    _, function = web_api_function(template)
    statements = role["AssumeRolePolicyDocument"]["Statement"]
    assert [p for s in statements for p in listed(s["Principal"]["AWS"])] == [
        ISSUER,
        function["Role"],
    ]
    for statement in statements:
        assert sorted(statement["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
        assert "Condition" not in statement


# --- the page ---------------------------------------------------------------------------------


def test_the_page_bucket_is_private_and_read_by_this_distribution_only(synthesized: Any) -> None:
    _, template = synthesized
    bucket, props = named(template, "AWS::S3::Bucket", "WebPageFiles")
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert "BucketEncryption" in props
    [policy] = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in only(template, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket}
    ]
    [allow] = [s for s in policy if s["Effect"] == "Allow"]
    distribution, config = single(template, "AWS::CloudFront::Distribution")
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"
    source = allow["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Join"][1]
    assert source[-2:] == [":distribution/", {"Ref": distribution}]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policy
    )
    [origin] = config["DistributionConfig"]["Origins"]
    assert origin["DomainName"] == {"Fn::GetAtt": [bucket, "RegionalDomainName"]}
    oac, access = single(template, "AWS::CloudFront::OriginAccessControl")
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": [oac, "Id"]}
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # no legacy OAI
    assert access["OriginAccessControlConfig"]["SigningBehavior"] == "always"
    behavior = config["DistributionConfig"]["DefaultCacheBehavior"]
    assert behavior["ViewerProtocolPolicy"] == "https-only"
    assert behavior["AllowedMethods"] == ["GET", "HEAD"]
    assert config["DistributionConfig"]["DefaultRootObject"] == "index.html"
    logs, _ = named(template, "AWS::S3::Bucket", "WebPageRequestLogs")
    assert config["DistributionConfig"]["Logging"]["Bucket"] == {
        "Fn::GetAtt": [logs, "RegionalDomainName"]
    }


def flatten(template: Template, join: dict[str, Any]) -> str:
    """An Fn::Join with each deploy-time value named (API, COGNITO for the domain prefix, BUCKET
    for staging's name, CLIENT, PAGE for the distribution's domain, REGION); any other fails."""
    api, _ = single(template, "AWS::ApiGatewayV2::Api")
    domain, _ = single(template, "AWS::Cognito::UserPoolDomain")
    staging, _ = named(template, "AWS::S3::Bucket", "StorageStaging")
    client, _ = single(template, "AWS::Cognito::UserPoolClient")
    names = {
        json.dumps({"Fn::GetAtt": [api, "ApiEndpoint"]}): "API",
        json.dumps({"Ref": domain}): "COGNITO",
        json.dumps({"Ref": staging}): "BUCKET",
        json.dumps({"Ref": client}): "CLIENT",
        json.dumps(distribution_domain(template)): "PAGE",
        json.dumps({"Ref": "AWS::Region"}): "REGION",
    }
    delimiter, parts = join["Fn::Join"]
    assert delimiter == ""
    return "".join(p if isinstance(p, str) else names[json.dumps(p)] for p in parts)


def test_the_page_may_talk_to_its_api_cognito_and_the_staging_bucket_only(
    synthesized: Any,
) -> None:
    _, template = synthesized
    _, policy = single(template, "AWS::CloudFront::ResponseHeadersPolicy")
    headers = policy["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    csp = headers["ContentSecurityPolicy"]
    assert csp["Override"] is True
    directives = {
        name: sources
        for name, *sources in (
            d.split() for d in flatten(template, csp["ContentSecurityPolicy"]).split("; ")
        )
    }
    cognito = "https://COGNITO.auth.REGION.amazoncognito.com"
    assert directives == {
        "default-src": ["'self'"],
        "connect-src": [
            "'self'",
            "API",
            cognito,
            "https://BUCKET.s3.REGION.amazonaws.com",
            "https://BUCKET.s3.amazonaws.com",
            "https://s3.REGION.amazonaws.com",
        ],
        "img-src": ["'self'", "data:", "blob:"],
        "style-src": ["'self'"],
        "script-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'", cognito],
    }
    assert headers["StrictTransportSecurity"] == {
        "AccessControlMaxAgeSec": 2 * 365 * 24 * 3600,
        "IncludeSubdomains": True,
        "Override": True,
    }
    assert headers["ContentTypeOptions"] == {"Override": True}
    assert headers["FrameOptions"] == {"FrameOption": "DENY", "Override": True}
    assert headers["ReferrerPolicy"] == {"ReferrerPolicy": "no-referrer", "Override": True}
    _, distribution = single(template, "AWS::CloudFront::Distribution")
    policy_id, _ = single(template, "AWS::CloudFront::ResponseHeadersPolicy")
    behavior = distribution["DistributionConfig"]["DefaultCacheBehavior"]
    assert behavior["ResponseHeadersPolicyId"] == {"Ref": policy_id}


def test_the_csp_is_built_from_the_names_it_is_given() -> None:
    csp = content_security_policy(
        api="https://a1.execute-api.eu-west-1.amazonaws.com",
        sign_in="https://up.auth.eu-west-1.amazoncognito.com",
        staging="staging-x",
        region="eu-west-1",
    )
    assert "connect-src 'self' https://a1.execute-api.eu-west-1.amazonaws.com " in csp
    assert (
        "https://staging-x.s3.eu-west-1.amazonaws.com https://staging-x.s3.amazonaws.com "
        "https://s3.eu-west-1.amazonaws.com;"
    ) in csp
    assert "form-action 'self' https://up.auth.eu-west-1.amazoncognito.com" in csp
    assert "unsafe" not in csp


def test_staging_cors_lets_the_page_upload_and_read_etags(synthesized: Any) -> None:
    _, template = synthesized
    _, staging = named(template, "AWS::S3::Bucket", "StorageStaging")
    [rule] = staging["CorsConfiguration"]["CorsRules"]
    assert CLOUDFRONT_ORIGINS in rule["AllowedOrigins"]
    # Every distribution's domain is <id>.cloudfront.net; nothing but HTTPS, nothing else.
    assert fnmatch("https://d111111abcdef8.cloudfront.net", CLOUDFRONT_ORIGINS)
    assert not fnmatch("http://d111111abcdef8.cloudfront.net", CLOUDFRONT_ORIGINS)
    assert not fnmatch("https://cloudfront.net.example.com", CLOUDFRONT_ORIGINS)
    assert rule["ExposedHeaders"] == ["ETag"]  # multipart completion needs each part's ETag
    assert sorted(rule["AllowedMethods"]) == ["DELETE", "GET", "POST", "PUT"]


def test_the_page_and_its_config_are_deployed_and_invalidated(synthesized: Any, page: Path) -> None:
    stack, template = synthesized
    _, deploy = single(template, "Custom::CDKBucketDeployment")
    bucket, _ = named(template, "AWS::S3::Bucket", "WebPageFiles")
    distribution, _ = single(template, "AWS::CloudFront::Distribution")
    assert deploy["DestinationBucketName"] == {"Ref": bucket}
    assert deploy["DistributionId"] == {"Ref": distribution}
    assert deploy["DistributionPaths"] == ["/*"]
    assert deploy["SystemMetadata"] == {"cache-control": "no-cache"}
    assert deploy["Prune"] is True
    outdir = Path(stack.node.root.outdir)
    files, config = (outdir / f"asset.{k.removesuffix('.zip')}" for k in deploy["SourceObjectKeys"])
    assert sorted(p.name for p in files.iterdir()) == sorted(p.name for p in page.iterdir())
    # config.json holds a marker for each deploy-time value; the resource says which is which.
    text = (config / "config.json").read_text()
    for marker, value in deploy["SourceMarkers"][1].items():
        text = text.replace(marker, flatten(template, value))
    assert json.loads(text) == {
        "api": "API",
        "auth": {
            "mode": "cognito",
            "domain": "https://COGNITO.auth.REGION.amazoncognito.com",
            "clientId": "CLIENT",
            "redirectUri": "https://PAGE/",
            "scopes": ["openid", "email", "profile"],
        },
        "s3": {
            "endpoint": "https://s3.REGION.amazonaws.com",
            "region": "REGION",
            "bucket": "BUCKET",
            "forcePathStyle": False,
        },
    }


def test_without_a_built_page_the_synth_says_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"run `make web` first"):
        page_folder(tmp_path)
    (tmp_path / "index.html").write_text("<!doctype html>")
    assert page_folder(tmp_path) == tmp_path


def test_a_stack_without_a_built_page_fails_with_that_message(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path / "out"), context={"web_dist": str(tmp_path / "none")})
    with pytest.raises(Exception, match=r"run `make web` first"):
        build(app)


# --- outputs and checks -------------------------------------------------------------------------


def test_the_outputs_name_the_page_and_the_settings_conveyor_reads(synthesized: Any) -> None:
    _, template = synthesized
    outputs = template.find_outputs("*")
    domain = distribution_domain(template)
    assert outputs[PAGE_URL_OUTPUT]["Value"] == {"Fn::Join": ["", ["https://", domain, "/"]]}
    pool, _ = single(template, "AWS::Cognito::UserPool")
    client, _ = single(template, "AWS::Cognito::UserPoolClient")
    assert outputs[output_name(settings.USER_POOL_ID)]["Value"] == {"Ref": pool}
    assert outputs[output_name(settings.USER_POOL_CLIENT_ID)]["Value"] == {"Ref": client}
    assert outputs[output_name(settings.WEB_ORIGIN)]["Value"] == {
        "Fn::Join": ["", ["https://", domain]]
    }


def test_cdk_nag_passes_with_the_page(synthesized: Any) -> None:
    stack, _ = synthesized
    for find in (
        Annotations.from_stack(stack).find_error,
        Annotations.from_stack(stack).find_warning,
    ):
        findings = find("*", Match.string_like_regexp("AwsSolutions-.*"))
        assert findings == [], [f"{f.id}: {f.entry.data}" for f in findings]
