"""The three buckets, and the one that holds their access logs."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from conveyor.provisioning import (
    ABORT_MULTIPART_AFTER_DAYS,
    CORS_EXPOSED_HEADERS,
    CORS_METHODS,
    NONCURRENT_VERSION_DAYS,
)

SSE_C = "s3:x-amz-server-side-encryption-customer-algorithm"
"""Present on a PutObject (and CreateMultipartUpload) that brings its own key: the worker could
never read such an object, so staging refuses it."""


LOGS_BY_POLICY = "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"


def cors_rules(origins: Sequence[str]) -> list[s3.CorsRule] | None:
    """One rule for exactly the origins named at deploy; none named, no CORS at all."""
    if not origins:
        return None
    return [
        s3.CorsRule(
            allowed_methods=[s3.HttpMethods(m) for m in CORS_METHODS],
            allowed_origins=list(origins),
            allowed_headers=["*"],
            exposed_headers=list(CORS_EXPOSED_HEADERS),
            max_age=3000,
        )
    ]


def upkeep(*, noncurrent: bool) -> list[s3.LifecycleRule]:
    """Unfinished multipart uploads aborted; old versions (where kept) expire."""
    rule = s3.LifecycleRule(
        abort_incomplete_multipart_upload_after=Duration.days(ABORT_MULTIPART_AFTER_DAYS),
        noncurrent_version_expiration=(
            Duration.days(NONCURRENT_VERSION_DAYS) if noncurrent else None
        ),
    )
    return [rule]


class Storage(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        cors_origins: Sequence[str],
        archive_transition_days: int | None,
        removal: RemovalPolicy,
    ) -> None:
        super().__init__(scope, id)
        # Log delivery granted by bucket policy instead of the legacy LogDeliveryWrite ACL, set
        # here (not in cdk.json) so every synth, tests' included, gets it.
        self.node.set_context(LOGS_BY_POLICY, True)
        common = {
            "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
            "encryption": s3.BucketEncryption.S3_MANAGED,
            "enforce_ssl": True,
            "removal_policy": removal,
            "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        }
        # No ACL: the buckets' log deliveries are granted to logging.s3.amazonaws.com by this
        # bucket's policy (CDK writes it for each bucket that logs here).
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            **common,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(365))],
        )
        self.staging = s3.Bucket(
            self,
            "Staging",
            **common,
            versioned=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="staging/",
            lifecycle_rules=upkeep(noncurrent=True),
            cors=cors_rules(cors_origins),
        )
        self.staging.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DenySseCUploads",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:PutObject"],
                resources=[self.staging.arn_for_objects("*")],
                conditions={"Null": {SSE_C: "false"}},
            )
        )
        archive_rules = upkeep(noncurrent=False)
        if archive_transition_days:
            archive_rules.append(
                s3.LifecycleRule(
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
                            transition_after=Duration.days(archive_transition_days),
                        )
                    ]
                )
            )
        self.archive = s3.Bucket(
            self,
            "Archive",
            **common,
            versioned=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="archive/",
            lifecycle_rules=archive_rules,
        )
        # Versioned so an overwritten output can be recovered, for NONCURRENT_VERSION_DAYS.
        self.output = s3.Bucket(
            self,
            "Output",
            **common,
            versioned=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="output/",
            lifecycle_rules=upkeep(noncurrent=True),
        )
