"""cdk-nag findings we accept, each with the reason a reviewer would ask for, scoped as tightly as
cdk-nag allows: wildcard findings only for the resource patterns named here."""

from __future__ import annotations

from aws_cdk import Stack
from cdk_nag import NagPackSuppression, NagSuppressions, RegexAppliesTo

OBJECT_ARNS = RegexAppliesTo(regex=r"/^Resource::<Storage[A-Za-z0-9]+\.Arn>\/\*$/g")
"""`bucket/*` of our own buckets: object keys are not known in advance."""
JOB_DEFINITION_REVISIONS = RegexAppliesTo(regex=r"/^Resource::arn:<AWS::Partition>:batch:.*:\*$/g")
"""Every revision of our job definition (`name:*`), for SubmitJob."""

STACK_WIDE = {
    "AwsSolutions-IAM4": (
        "AWS-managed service policies (Batch service role, ECS instance role, Lambda basic "
        "execution) are what AWS maintains for these services; they grant no data access.",
        None,
    ),
    "AwsSolutions-IAM5": (
        "Object-level S3 actions must name bucket/* of our own buckets (keys are not known "
        "in advance); SubmitJob names every revision of our job definition. No S3 action on '*'.",
        [OBJECT_ARNS, JOB_DEFINITION_REVISIONS],
    ),
    "AwsSolutions-SQS3": ("The queues without a DLQ are themselves dead-letter queues.", None),
    "AwsSolutions-L1": (
        "Python 3.13 is pinned on purpose: the handlers and their Powertools layer "
        "(AWSLambdaPowertoolsPythonV3-python313) are tested together; move both at once.",
        None,
    ),
}
TAGGED_PREFIX = RegexAppliesTo(
    regex=r"/^Resource::<StorageStaging[A-Za-z0-9]+\.Arn>\/<aws:PrincipalTag\/conveyor-prefix>\*$/g"
)
UPLOAD_PREFIX = (
    "The upload role writes only under the prefix its session tag names (`conveyor credentials` "
    "tags the key, and its session policy narrows that to the one key); keys are not known in "
    "advance."
)
DESCRIBE_JOBS = (
    "batch:DescribeJobs accepts no narrower resource than '*'; it only reads job descriptions."
)
ECR_TOKEN = (
    "The Batch execution role's '*' is ecr:GetAuthorizationToken, which accepts no narrower "
    "resource; its image pulls are scoped to the asset repository."
)


def suppress(stack: Stack) -> None:
    NagSuppressions.add_stack_suppressions(
        stack,
        [
            NagPackSuppression(id=rule, reason=reason, applies_to=applies_to)
            for rule, (reason, applies_to) in STACK_WIDE.items()
        ],
    )
    NagSuppressions.add_resource_suppressions_by_path(
        stack,
        f"/{stack.stack_name}/Batch/Container/ExecutionRole/DefaultPolicy/Resource",
        [NagPackSuppression(id="AwsSolutions-IAM5", reason=ECR_TOKEN, applies_to=["Resource::*"])],
    )
    NagSuppressions.add_resource_suppressions_by_path(
        stack,
        f"/{stack.stack_name}/UploadRole/Resource",
        [
            NagPackSuppression(
                id="AwsSolutions-IAM5", reason=UPLOAD_PREFIX, applies_to=[TAGGED_PREFIX]
            )
        ],
    )
    NagSuppressions.add_resource_suppressions_by_path(
        stack,
        f"/{stack.stack_name}/ReconcilePolicy/Resource",
        [
            NagPackSuppression(
                id="AwsSolutions-IAM5", reason=DESCRIBE_JOBS, applies_to=["Resource::*"]
            )
        ],
    )
