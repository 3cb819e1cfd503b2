"""The upload page on AWS: sign-in (infra/auth.py), the API (infra/http_api.py) and its Lambda's
permissions, the page behind CloudFront (infra/page.py), wired in the one order CloudFormation
can create them: the pool, the API and the page's distribution first, then the client that
redirects to the page, the routes that accept that client's tokens, and the page's config."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from conveyor import settings
from conveyor.ledger.schema import BUCKET_INDEX
from conveyor.operations import UPLOAD_PREFIX_TAG
from infra.auth import SCOPES, Auth
from infra.http_api import HttpApi
from infra.page import Page, content_security_policy
from infra.roles import statement

UPLOADS = "uploads/"
"""Where the web API puts every upload (web_api.keys.UPLOADS: the test compares them); its
permissions on staging and the ledger stop there."""


def web_api_policy(
    *,
    staging: s3.IBucket,
    output: s3.IBucket,
    table: dynamodb.ITableV2,
    upload_role: iam.IRole,
    submit_to: list[str],
) -> list[iam.PolicyStatement]:
    """What the web API does, as `conveyor presign`, `credentials`, `jobs`/`show` and `resubmit`
    do it for a person's own uploads (web_api/: uploads, files, retry)."""
    uploads = staging.arn_for_objects(f"{UPLOADS}*")
    return [
        # A presigned PUT acts with its signer's rights; HEADs pin a version before a retry.
        statement(["s3:PutObject", "s3:GetObject", "s3:GetObjectVersion"], [uploads]),
        # A person's prefix and their open multipart uploads; and a HEAD of a key that is gone
        # answers 404, not 403, only with ListBucket.
        statement(["s3:ListBucket", "s3:ListBucketMultipartUploads"], [staging.bucket_arn]),
        # Download links act with their signer's rights; a route may name any output key.
        statement(["s3:GetObject"], [output.arn_for_objects("*")]),
        statement(["s3:ListBucket"], [output.bucket_arn]),
        # The ledger entries of uploads only (their partition key is `<staging>/<key>`): read one,
        # mark a retry under way (one SubmitJob for two clicks), and record a resubmission.
        iam.PolicyStatement(
            actions=["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
            resources=[table.table_arn],
            conditions={
                "ForAllValues:StringLike": {
                    "dynamodb:LeadingKeys": [f"{staging.bucket_name}/{UPLOADS}*"]
                }
            },
        ),
        statement(["dynamodb:Query"], [f"{table.table_arn}/index/{BUCKET_INDEX}"]),
        statement(["batch:SubmitJob"], submit_to),
        # A retry's SubmitJob whose answer was lost is looked up by name (conveyor.submit_once).
        statement(["batch:ListJobs"], ["*"]),
        # Credentials for one upload: the upload role, tagged with a prefix under uploads/ only.
        statement(["sts:AssumeRole"], [upload_role.role_arn]),
        iam.PolicyStatement(
            actions=["sts:TagSession"],
            resources=[upload_role.role_arn],
            conditions={
                "StringLike": {f"aws:RequestTag/{UPLOAD_PREFIX_TAG}": f"{UPLOADS}*"},
                "ForAllValues:StringEquals": {"aws:TagKeys": [UPLOAD_PREFIX_TAG]},
            },
        ),
    ]


class Web(Construct):
    """`page_url` (with its trailing slash) is where people go; `auth.pool`, `auth.client`."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        handler: lambda_.Function,
        staging: s3.IBucket,
        output: s3.IBucket,
        access_logs: s3.IBucket,
        table: dynamodb.ITableV2,
        upload_role: iam.IRole,
        submit_to: list[str],
        page_folder: Path,
        auth_domain_prefix: str | None,
        removal: RemovalPolicy,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, id)
        region = Stack.of(self).region
        self.auth = Auth(self, "Auth", prefix_override=auth_domain_prefix, removal=removal)
        self.api = HttpApi(self, "Api", log_retention=log_retention)
        self.page = Page(self, "Page", access_logs=access_logs, removal=removal)
        distribution = self.page.distribute(
            content_security_policy(
                api=self.api.url,
                sign_in=self.auth.sign_in_url,
                staging=staging.bucket_name,
                region=region,
            )
        )
        self.origin = f"https://{distribution.distribution_domain_name}"
        self.page_url = f"{self.origin}/"
        client = self.auth.add_page_client(self.page_url)
        self.api.route(handler, issuer=self.auth.issuer, client_id=client.user_pool_client_id)
        handler.add_environment(settings.WEB_ORIGIN, self.origin)
        handler.add_environment(settings.UPLOAD_ROLE_ARN, upload_role.role_arn)
        handler.role.attach_inline_policy(  # type: ignore[union-attr]
            iam.Policy(
                self,
                "ApiPolicy",
                statements=web_api_policy(
                    staging=staging,
                    output=output,
                    table=table,
                    upload_role=upload_role,
                    submit_to=submit_to,
                ),
            )
        )
        self.page.deploy(
            page_folder,
            {
                "api": self.api.url,
                "auth": {
                    "mode": "cognito",
                    "domain": self.auth.sign_in_url,
                    "clientId": client.user_pool_client_id,
                    "redirectUri": self.page_url,
                    "scopes": [scope.scope_name for scope in SCOPES],
                },
                "s3": {
                    "endpoint": f"https://s3.{region}.amazonaws.com",
                    "region": region,
                    "bucket": staging.bucket_name,
                    "forcePathStyle": False,
                },
            },
            log_retention=log_retention,
        )
