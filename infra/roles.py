"""One role per component, each with inline policies on exactly the resources it uses."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

from conveyor.ledger.schema import STATUS_INDEX
from conveyor.manifest import PREFIX as MANIFESTS
from conveyor.operations import UPLOAD_ACTIONS, UPLOAD_PREFIX_TAG

LEDGER_WRITE = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")


def statement(actions: list[str] | tuple[str, ...], resources: list[str]) -> iam.PolicyStatement:
    return iam.PolicyStatement(actions=list(actions), resources=resources)


def ledger_write(table: dynamodb.ITableV2) -> iam.PolicyStatement:
    return statement(LEDGER_WRITE, [table.table_arn])


def ledger_status_query(table: dynamodb.ITableV2) -> iam.PolicyStatement:
    """Listing entries by status: the `by_status` index only."""
    return statement(["dynamodb:Query"], [f"{table.table_arn}/index/{STATUS_INDEX}"])


def manifests_read(archive: s3.IBucket) -> iam.PolicyStatement:
    """Array jobs' manifests (conveyor.manifest): the completion function resolves a child's
    version from its record."""
    return statement(["s3:GetObject"], [archive.arn_for_objects(f"{MANIFESTS}*")])


def operator_manifests(archive: s3.IBucket) -> iam.PolicyDocument:
    """What `conveyor resubmit` / `reprocess` in bulk need beyond what an operator's role
    already reads: writing a manifest once and reading it back on a re-run."""
    return iam.PolicyDocument(
        statements=[
            statement(["s3:GetObject", "s3:PutObject"], [archive.arn_for_objects(f"{MANIFESTS}*")])
        ]
    )


def worker_policy(
    *, staging: s3.IBucket, archive: s3.IBucket, output: s3.IBucket, table: dynamodb.ITableV2
) -> iam.PolicyDocument:
    """Read and delete originals, write archive copies and outputs (and remove an hls job's
    unreferenced runs), note facts in the ledger."""
    return iam.PolicyDocument(
        statements=[
            statement(
                [
                    "s3:GetObject",
                    "s3:GetObjectVersion",
                    "s3:DeleteObject",
                    "s3:DeleteObjectVersion",
                ],
                [staging.arn_for_objects("*")],
            ),
            statement(["s3:ListBucket", "s3:ListBucketVersions"], [staging.bucket_arn]),
            statement(
                [
                    "s3:GetObject",
                    "s3:GetObjectVersion",
                    "s3:PutObject",
                    "s3:AbortMultipartUpload",
                    "s3:ListMultipartUploadParts",
                ],
                [archive.arn_for_objects("*"), output.arn_for_objects("*")],
            ),
            statement(
                ["s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads"],
                [archive.bucket_arn, output.bucket_arn],
            ),
            # An hls job removes run directories no master references (batch_job.tree_runs);
            # the output bucket is versioned, so a removed object stays recoverable.
            statement(["s3:DeleteObject"], [output.arn_for_objects("*")]),
            ledger_write(table),
        ]
    )


def upload_policy(staging: s3.IBucket) -> iam.PolicyDocument:
    """Uploads only under the prefix the session's tag names: an issuer that forgets the one-key
    session policy still hands out nothing wider; without the tag, nothing at all."""
    tagged = staging.arn_for_objects(f"${{aws:PrincipalTag/{UPLOAD_PREFIX_TAG}}}*")
    return iam.PolicyDocument(statements=[statement(UPLOAD_ACTIONS, [tagged])])


def upload_trust(issuers: list[str], roles: Sequence[iam.IRole] = ()) -> iam.IPrincipal:
    """Only the issuers named at deploy, and the stack's own `roles` (the web API's), may assume
    the upload role, and tag the session.

    With none at all, a trust that never holds: `aws:PrincipalArn` is in every authenticated
    request, so `Null: true` on it matches no one (IAM wants at least one principal).
    """
    arns = [*issuers, *(role.role_arn for role in roles)]
    if not arns:
        return iam.AccountRootPrincipal().with_conditions({"Null": {"aws:PrincipalArn": "true"}})
    return iam.CompositePrincipal(*(iam.ArnPrincipal(arn) for arn in arns)).with_session_tags()
