"""cdk-nag findings we accept, each with the reason a reviewer would ask for."""

from __future__ import annotations

from aws_cdk import Stack
from cdk_nag import NagPackSuppression, NagSuppressions

REASONS = {
    "AwsSolutions-IAM4": (
        "AWS-managed service policies (Batch service role, ECS instance role, Lambda basic "
        "execution) are what AWS maintains for these services; they grant no data access."
    ),
    "AwsSolutions-IAM5": (
        "Object-level S3 actions must name bucket/* (keys are not known in advance); log streams "
        "and Batch job definition revisions are named by pattern. No S3 action is on '*'."
    ),
    "AwsSolutions-SQS3": "This queue is itself a dead-letter queue.",
    "AwsSolutions-L1": (
        "Python 3.13 is pinned on purpose: the handlers and their Powertools layer "
        "(AWSLambdaPowertoolsPythonV3-python313) are tested together; move both at once."
    ),
}


def suppress(stack: Stack) -> None:
    NagSuppressions.add_stack_suppressions(
        stack,
        [NagPackSuppression(id=rule, reason=reason) for rule, reason in REASONS.items()],
        apply_to_nested_stacks=True,
    )
