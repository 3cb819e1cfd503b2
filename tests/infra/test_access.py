"""Who can get in, from the synthesized template: the upload role, CORS and the buckets' rules."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")  # node 20 here

import aws_cdk as cdk
from aws_cdk.assertions import Annotations, Match, Template

from infra.app import build
from infra.page import CLOUDFRONT_ORIGINS

ISSUERS = ("arn:aws:iam::111111111111:role/web-api", "arn:aws:iam::111111111111:role/ops")
ORIGINS = "https://app.example.com,https://admin.example.com"


def synth(path: Path, **context: str) -> tuple[cdk.Stack, Template]:
    _, stack = build(cdk.App(outdir=str(path), context=context))
    return stack, Template.from_stack(stack)


@pytest.fixture(scope="module")
def named(tmp_path_factory: pytest.TempPathFactory) -> tuple[cdk.Stack, Template]:
    """Issuers and origins named at deploy."""
    return synth(
        tmp_path_factory.mktemp("named"), upload_issuers=",".join(ISSUERS), cors_origins=ORIGINS
    )


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> tuple[cdk.Stack, Template]:
    """Nothing named: the defaults a plain `cdk deploy` gets."""
    return synth(tmp_path_factory.mktemp("bare"))


def upload_role(template: Template) -> dict[str, Any]:
    roles = template.find_resources("AWS::IAM::Role")
    [role] = [r["Properties"] for n, r in roles.items() if n.startswith("UploadRole")]
    return role


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def buckets(template: Template) -> dict[str, dict[str, Any]]:
    return {name: b["Properties"] for name, b in template.find_resources("AWS::S3::Bucket").items()}


def bucket(template: Template, prefix: str) -> tuple[str, dict[str, Any]]:
    [(name, props)] = [(n, p) for n, p in buckets(template).items() if n.startswith(prefix)]
    return name, props


def bucket_policy(template: Template, name: str) -> list[dict[str, Any]]:
    policies = template.find_resources("AWS::S3::BucketPolicy").values()
    [policy] = [p for p in policies if p["Properties"]["Bucket"] == {"Ref": name}]
    return policy["Properties"]["PolicyDocument"]["Statement"]


def web_api_role(template: Template) -> dict[str, Any]:
    """The web API's role, as a trust policy names it."""
    functions = template.find_resources("AWS::Lambda::Function").values()
    [role] = [
        f["Properties"]["Role"]
        for f in functions
        if f["Properties"].get("Handler") == "web_api.handler.handler"
    ]
    return role  # type: ignore[no-any-return]


def test_the_upload_role_trusts_only_the_named_issuers_for_an_hour(named: Any) -> None:
    _, template = named
    role = upload_role(template)
    assert role["MaxSessionDuration"] == 3600
    statements = role["AssumeRolePolicyDocument"]["Statement"]
    assert all(s["Effect"] == "Allow" for s in statements)
    principals = [
        arn for s in statements for arn in listed(s["Principal"]["AWS"])
    ]  # no account root, no service
    assert principals == [*ISSUERS, web_api_role(template)]  # and the stack's own web API
    actions = {a for s in statements for a in listed(s["Action"])}
    assert actions == {"sts:AssumeRole", "sts:TagSession"}


def test_without_issuers_only_the_web_api_can_assume_the_upload_role(bare: Any) -> None:
    _, template = bare
    [trust] = upload_role(template)["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": web_api_role(template)}
    assert "Condition" not in trust
    assert sorted(listed(trust["Action"])) == ["sts:AssumeRole", "sts:TagSession"]


def test_the_upload_roles_own_policy_is_bounded_by_the_session_tag(named: Any) -> None:
    _, template = named
    [policy] = upload_role(template)["Policies"]
    [statement] = policy["PolicyDocument"]["Statement"]
    assert "s3:PutObject" in statement["Action"]
    resource = statement["Resource"]["Fn::Join"][1]
    staging, _ = bucket(template, "StorageStaging")
    assert resource == [{"Fn::GetAtt": [staging, "Arn"]}, "/${aws:PrincipalTag/conveyor-prefix}*"]


def test_cors_names_only_the_deployed_origins_and_a_multipart_uploads_needs(named: Any) -> None:
    _, template = named
    _, staging = bucket(template, "StorageStaging")
    [rule] = staging["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedOrigins"] == [*ORIGINS.split(","), CLOUDFRONT_ORIGINS]  # and the page
    assert sorted(rule["AllowedMethods"]) == ["DELETE", "GET", "POST", "PUT"]
    assert rule["ExposedHeaders"] == ["ETag"]


def test_without_origins_cors_allows_the_upload_page_alone(bare: Any) -> None:
    _, template = bare
    _, staging = bucket(template, "StorageStaging")
    [rule] = staging["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedOrigins"] == [CLOUDFRONT_ORIGINS]
    assert [name for name, b in buckets(template).items() if "CorsConfiguration" in b] == [
        bucket(template, "StorageStaging")[0]
    ]


def test_staging_refuses_sse_c_uploads(bare: Any) -> None:
    _, template = bare
    staging, _ = bucket(template, "StorageStaging")
    assert {
        "Sid": "DenySseCUploads",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "s3:PutObject",
        "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": [staging, "Arn"]}, "/*"]]},
        "Condition": {"Null": {"s3:x-amz-server-side-encryption-customer-algorithm": "false"}},
    } in bucket_policy(template, staging)


def test_output_and_staging_keep_overwritten_versions_for_30_days(bare: Any) -> None:
    _, template = bare
    for prefix in ("StorageOutput", "StorageStaging"):
        _, props = bucket(template, prefix)
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}
        rules = props["LifecycleConfiguration"]["Rules"]
        assert {"NoncurrentDays": 30} in [r.get("NoncurrentVersionExpiration") for r in rules]


def test_access_logs_are_delivered_by_bucket_policy_not_an_acl(bare: Any) -> None:
    _, template = bare
    logs, props = bucket(template, "StorageAccessLogs")
    assert "AccessControl" not in props
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    delivery = [
        s
        for s in bucket_policy(template, logs)
        if s.get("Principal") == {"Service": "logging.s3.amazonaws.com"}
    ]
    assert delivery and all(s["Effect"] == "Allow" for s in delivery)


@pytest.mark.parametrize("fixture", ["named", "bare"])
def test_cdk_nag_passes_with_and_without_issuers(fixture: str, request: Any) -> None:
    stack, _ = request.getfixturevalue(fixture)
    errors = Annotations.from_stack(stack).find_error(
        "*", Match.string_like_regexp("AwsSolutions-.*")
    )
    assert errors == [], [f"{e.id}: {e.entry.data}" for e in errors]
