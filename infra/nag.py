"""cdk-nag findings we accept, each on the one resource it concerns with the reason true of that
resource: nothing is suppressed stack-wide, so a new resource with the same finding still fails the
synth until someone writes down why it is acceptable there. A path that no longer matches fails the
synth too (cdk-nag raises), so a renamed construct cannot leave a stale suppression behind."""

from __future__ import annotations

from aws_cdk import Stack
from cdk_nag import NagPackSuppression, NagSuppressions, RegexAppliesTo

OBJECT_ARNS = RegexAppliesTo(regex=r"/^Resource::<Storage[A-Za-z0-9]+\.Arn>\/\*$/g")
"""`bucket/*` of our own buckets: object keys are not known in advance."""
JOB_DEFINITION_REVISIONS = RegexAppliesTo(regex=r"/^Resource::arn:<AWS::Partition>:batch:.*:\*$/g")
"""Every revision of our job definition (`name:*`), for SubmitJob."""
TAGGED_PREFIX = RegexAppliesTo(
    regex=r"/^Resource::<StorageStaging[A-Za-z0-9]+\.Arn>\/<aws:PrincipalTag\/conveyor-prefix>\*$/g"
)

WORKER_OBJECTS = (
    "The worker reads any staged object and writes the archive and output copies of it: "
    "object-level S3 actions on bucket/* of our own three buckets, keys not known in advance."
)
TRIGGER_SCOPE = (
    "The trigger reads (pins) any staged object version, keys not known in advance, and submits "
    "jobs with every revision (`name:*`) of our own job definition."
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
ECS_INSTANCE_ROLE = (
    "AmazonEC2ContainerServiceforEC2Role is what AWS maintains for an ECS container instance "
    "(register with the cluster, pull images, ship logs); it grants no access to our data."
)
NOTIFICATIONS_HANDLER = (
    "CDK's own bucket-notifications handler: AWSLambdaBasicExecutionRole lets it write its logs "
    "and nothing else."
)
PINNED_RUNTIME = (
    "Python 3.13 is pinned on purpose: the handlers and their Powertools layer "
    "(AWSLambdaPowertoolsPythonV3-python313) are tested together; move both at once."
)
COMPLETION_DLQ = (
    "This queue is the completion function's dead-letter queue (its asynchronous on-failure "
    "target); a dead-letter queue of its own would only move the same messages again."
)

RESOURCE_SUPPRESSIONS: dict[str, list[tuple[str, str, list[str | RegexAppliesTo] | None]]] = {
    "Batch/Container/ExecutionRole/DefaultPolicy/Resource": [
        ("AwsSolutions-IAM5", ECR_TOKEN, ["Resource::*"])
    ],
    "Batch/Spot/InstanceProfileRole/Resource": [("AwsSolutions-IAM4", ECS_INSTANCE_ROLE, None)],
    "Batch/OnDemand/InstanceProfileRole/Resource": [("AwsSolutions-IAM4", ECS_INSTANCE_ROLE, None)],
    "BucketNotificationsHandler050a0587b7544547bf325f094a3db834/Role/Resource": [
        ("AwsSolutions-IAM4", NOTIFICATIONS_HANDLER, None)
    ],
    "WorkerRole/Resource": [("AwsSolutions-IAM5", WORKER_OBJECTS, [OBJECT_ARNS])],
    "TriggerPolicy/Resource": [
        ("AwsSolutions-IAM5", TRIGGER_SCOPE, [OBJECT_ARNS, JOB_DEFINITION_REVISIONS])
    ],
    "UploadRole/Resource": [("AwsSolutions-IAM5", UPLOAD_PREFIX, [TAGGED_PREFIX])],
    "ReconcilePolicy/Resource": [("AwsSolutions-IAM5", DESCRIBE_JOBS, ["Resource::*"])],
    "Functions/Trigger/Resource": [("AwsSolutions-L1", PINNED_RUNTIME, None)],
    "Functions/Completion/Resource": [("AwsSolutions-L1", PINNED_RUNTIME, None)],
    "Functions/Reconcile/Resource": [("AwsSolutions-L1", PINNED_RUNTIME, None)],
    "Functions/CompletionDlq/Resource": [("AwsSolutions-SQS3", COMPLETION_DLQ, None)],
}
"""Construct path under the stack -> (rule, reason, the findings it covers or None for all)."""


def suppress(stack: Stack) -> None:
    """Attach each accepted finding to its own resource (never `add_stack_suppressions`)."""
    for path, rules in RESOURCE_SUPPRESSIONS.items():
        NagSuppressions.add_resource_suppressions_by_path(
            stack,
            f"/{stack.stack_name}/{path}",
            [
                NagPackSuppression(id=rule, reason=reason, applies_to=applies_to)
                for rule, reason, applies_to in rules
            ],
        )
