"""cdk-nag findings we accept, each on the one resource it concerns with the reason true of that
resource: nothing is suppressed stack-wide, so a new resource with the same finding still fails the
synth until someone writes down why it is acceptable there. A path that no longer matches fails the
synth too (cdk-nag raises), so a renamed construct cannot leave a stale suppression behind.

checkov's findings on one resource are accepted the same way (CHECKOV_SKIPS, written into that
resource's metadata, where checkov reads them); those true of every resource of a kind are in
.checkov.yaml."""

from __future__ import annotations

from aws_cdk import CfnResource, Stack
from cdk_nag import NagPackSuppression, NagSuppressions, RegexAppliesTo

OBJECT_ARNS = RegexAppliesTo(regex=r"/^Resource::<Storage[A-Za-z0-9]+\.Arn>\/\*$/g")
"""`bucket/*` of our own buckets: object keys are not known in advance."""
JOB_DEFINITION_REVISIONS = RegexAppliesTo(regex=r"/^Resource::arn:<AWS::Partition>:batch:.*:\*$/g")
"""Every revision of our job definition (`name:*`), for SubmitJob."""
UPLOAD_OBJECTS = RegexAppliesTo(
    regex=r"/^Resource::<StorageStaging[A-Za-z0-9]+\.Arn>\/uploads\/\*$/g"
)
"""`staging/uploads/*`: where the web API puts every upload, under keys it makes per upload."""
MANIFEST_OBJECTS = RegexAppliesTo(
    regex=r"/^Resource::<StorageArchive[A-Za-z0-9]+\.Arn>\/\.conveyor\/manifests\/\*$/g"
)
"""`archive/.conveyor/manifests/*`: array jobs' manifests, one per bulk, named when it runs."""
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
MANIFESTS = (
    "Array jobs' manifests live under the archive's .conveyor/manifests/, one per bulk "
    "resubmission, named when it runs: object-level access to that prefix only."
)
LIST_JOBS = (
    "batch:ListJobs accepts no narrower resource than '*'; it only lists jobs, to find a SubmitJob "
    "whose answer was lost before trying again (conveyor.submit_once)."
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
WEB_API_SCOPE = (
    "The web API signs uploads under staging's uploads/ (a key made per upload), reads whatever "
    "output a route names to sign its download link (keys not known in advance), and resubmits "
    "with every revision (`name:*`) of our own job definition, as the trigger submits."
)
PREFLIGHT = (
    "OPTIONS /{proxy+} carries CORS preflights, which browsers send without credentials by "
    "design; the web API answers them with CORS headers alone (Powertools answers OPTIONS before "
    "any route runs). Every other route requires the Cognito JWT authorizer."
)
OPTIONAL_MFA = (
    "MFA is offered (TOTP), not forced, on the page's user pool: the Plus plan's threat protection "
    "blocks risky and compromised-credential sign-ins for everyone; an administrator can require "
    "MFA of a person."
)
ANY_COUNTRY = (
    "The upload page is for the organisation's people wherever they work: sign-in and the API's "
    "authorizer decide who gets in, not the country."
)
NO_WAF = (
    "The distribution serves the static page only (GET/HEAD of a few cached files from a private "
    "bucket): nothing behind it for a WAF to inspect. A CLOUDFRONT-scope web ACL must be created "
    "in us-east-1, outside this stack's region; the API is authorized and throttled by API "
    "Gateway, and sign-in is guarded by Cognito's threat protection."
)
DEFAULT_CERTIFICATE = (
    "The distribution is reached at its *.cloudfront.net name, whose certificate's security "
    "policy CloudFront sets and no distribution can raise without a custom domain and its own "
    "certificate; HSTS keeps browsers on HTTPS."
)
DEPLOYMENT_HANDLER = (
    "CDK's own BucketDeployment handler, run at deploy: AWSLambdaBasicExecutionRole lets it write "
    "its logs; it reads CDK's asset bucket, writes and prunes the page bucket only, and "
    "invalidates CloudFront's cached copies (CDK grants that on '*'; it changes no content). "
    "Its runtime is the one aws-cdk-lib ships it with."
)
DEPLOYMENT = "Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C"
"""CDK's singleton BucketDeployment handler (a fixed id: one per stack, whatever deploys)."""
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
        ("AwsSolutions-IAM5", TRIGGER_SCOPE, [OBJECT_ARNS, JOB_DEFINITION_REVISIONS]),
        ("AwsSolutions-IAM5", LIST_JOBS, ["Resource::*"]),
    ],
    "UploadRole/Resource": [("AwsSolutions-IAM5", UPLOAD_PREFIX, [TAGGED_PREFIX])],
    "ReconcilePolicy/Resource": [("AwsSolutions-IAM5", DESCRIBE_JOBS, ["Resource::*"])],
    "CompletionPolicy/Resource": [("AwsSolutions-IAM5", MANIFESTS, [MANIFEST_OBJECTS])],
    "OperatorManifests/Resource": [("AwsSolutions-IAM5", MANIFESTS, [MANIFEST_OBJECTS])],
    "Functions/Trigger/Resource": [("AwsSolutions-L1", PINNED_RUNTIME, None)],
    "Functions/Completion/Resource": [("AwsSolutions-L1", PINNED_RUNTIME, None)],
    "Functions/Reconcile/Resource": [("AwsSolutions-L1", PINNED_RUNTIME, None)],
    "Functions/CompletionDlq/Resource": [("AwsSolutions-SQS3", COMPLETION_DLQ, None)],
    "Functions/WebApi/Resource": [("AwsSolutions-L1", PINNED_RUNTIME, None)],
    "Web/ApiPolicy/Resource": [
        (
            "AwsSolutions-IAM5",
            WEB_API_SCOPE,
            [UPLOAD_OBJECTS, OBJECT_ARNS, JOB_DEFINITION_REVISIONS],
        ),
        ("AwsSolutions-IAM5", LIST_JOBS, ["Resource::*"]),
    ],
    "Web/Api/Api/OPTIONS--{proxy+}/Resource": [("AwsSolutions-APIG4", PREFLIGHT, None)],
    "Web/Auth/Users/Resource": [("AwsSolutions-COG2", OPTIONAL_MFA, None)],
    "Web/Page/Distribution/Resource": [
        ("AwsSolutions-CFR1", ANY_COUNTRY, None),
        ("AwsSolutions-CFR2", NO_WAF, None),
        ("AwsSolutions-CFR4", DEFAULT_CERTIFICATE, None),
    ],
    f"{DEPLOYMENT}/Resource": [("AwsSolutions-L1", DEPLOYMENT_HANDLER, None)],
    f"{DEPLOYMENT}/ServiceRole/Resource": [("AwsSolutions-IAM4", DEPLOYMENT_HANDLER, None)],
    f"{DEPLOYMENT}/ServiceRole/DefaultPolicy/Resource": [
        ("AwsSolutions-IAM5", DEPLOYMENT_HANDLER, None)
    ],
}
"""Construct path under the stack -> (rule, reason, the findings it covers or None for all)."""

WEBHOOK_DLQ = (
    "This queue is itself the webhook target's dead-letter queue: events EventBridge could not "
    "deliver to the receiver after its retries wait here for a person."
)
WHEN_PRESENT: dict[str, list[tuple[str, str, list[RegexAppliesTo | str] | None]]] = {
    "Events/WebhookDlq/Resource": [("AwsSolutions-SQS3", WEBHOOK_DLQ, None)],
}
"""Like RESOURCE_SUPPRESSIONS, for resources only some contexts make (`-c webhook_url=...`)."""
CHECKOV_SKIPS: dict[str, list[tuple[str, str]]] = {
    "Web/Page/Distribution/Resource": [
        ("CKV_AWS_68", NO_WAF),
        ("CKV_AWS_174", DEFAULT_CERTIFICATE),
    ],
    f"{DEPLOYMENT}/ServiceRole/DefaultPolicy/Resource": [("CKV_AWS_111", DEPLOYMENT_HANDLER)],
}
"""Construct path under the stack -> (checkov check, reason), as checkov's inline skips."""


def suppress(stack: Stack) -> None:
    """Attach each accepted finding to its own resource (never `add_stack_suppressions`)."""
    present = {child.node.path for child in stack.node.find_all()}
    optional = {p: r for p, r in WHEN_PRESENT.items() if f"{stack.stack_name}/{p}" in present}
    for path, rules in {**RESOURCE_SUPPRESSIONS, **optional}.items():
        NagSuppressions.add_resource_suppressions_by_path(
            stack,
            f"/{stack.stack_name}/{path}",
            [
                NagPackSuppression(id=rule, reason=reason, applies_to=applies_to)
                for rule, reason, applies_to in rules
            ],
        )
    resources = {
        child.node.path: child for child in stack.node.find_all() if isinstance(child, CfnResource)
    }
    for path, checks in CHECKOV_SKIPS.items():
        resource = resources.get(f"{stack.stack_name}/{path}")
        if resource is None:  # as cdk-nag does: a stale path fails the synth
            raise ValueError(f"checkov skip for {path}: no such resource in {stack.stack_name}")
        resource.add_metadata(
            "checkov", {"skip": [{"id": check, "comment": reason} for check, reason in checks]}
        )
