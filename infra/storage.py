"""The three buckets, and the one that holds their access logs."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct

from conveyor.provisioning import ABORT_MULTIPART_AFTER_DAYS


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
        common = {
            "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
            "encryption": s3.BucketEncryption.S3_MANAGED,
            "enforce_ssl": True,
            "removal_policy": removal,
            "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        }
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            **{**common, "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_PREFERRED},
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(365))],
        )
        self.staging = s3.Bucket(
            self,
            "Staging",
            **common,
            versioned=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="staging/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    abort_incomplete_multipart_upload_after=Duration.days(
                        ABORT_MULTIPART_AFTER_DAYS
                    )
                )
            ],
            cors=[
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.PUT, s3.HttpMethods.POST],
                    allowed_origins=list(cors_origins),
                    allowed_headers=["*"],
                    exposed_headers=["ETag"],
                    max_age=3000,
                )
            ],
        )
        archive_rules = [
            s3.LifecycleRule(
                abort_incomplete_multipart_upload_after=Duration.days(ABORT_MULTIPART_AFTER_DAYS)
            )
        ]
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
        self.output = s3.Bucket(
            self,
            "Output",
            **common,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="output/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    abort_incomplete_multipart_upload_after=Duration.days(
                        ABORT_MULTIPART_AFTER_DAYS
                    )
                )
            ],
        )
