"""The trigger, completion, reconcile and web API Lambdas: the repo's own packages, powertools
from its public layer.

The public layer keeps the deployment package to our own few hundred KB and needs no bundling
(no Docker) at synth time; its version is pinned by context (`powertools_layer_version`).
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.queueing import dead_letter_queue

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("conveyor", "trigger_lambda", "completion_lambda", "web_api")
"""The packages the handlers import; nothing else of the repository goes into the asset."""
CODE_EXCLUDES = [
    "*",
    ".*",
    *(f"!{package}" for package in PACKAGES),
    *(f"!{package}/**" for package in PACKAGES),
    "**/__pycache__",
]
RUNTIME = lambda_.Runtime.PYTHON_3_13
POWERTOOLS_ACCOUNT = "017000801446"
TRIGGER_CONCURRENCY = 5
"""Five invocations of ten messages, each about three calls: SubmitJob stays under its 50 TPS."""
TRIGGER_BATCH_SIZE = 10
COMPLETION_RETRIES = 2
"""Lambda's own retries of a failed completion; after them the event goes to the failure queue."""
RECONCILE_EVERY = Duration.minutes(15)


def powertools_layer(scope: Construct, version: int, architecture: str) -> lambda_.ILayerVersion:
    arch = "arm64" if architecture == "arm64" else "x86_64"
    arn = (
        f"arn:aws:lambda:{Stack.of(scope).region}:{POWERTOOLS_ACCOUNT}:layer:"
        f"AWSLambdaPowertoolsPythonV3-python313-{arch}:{version}"
    )
    return lambda_.LayerVersion.from_layer_version_arn(scope, "Powertools", arn)


class Functions(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        queue: sqs.IQueue,
        job_queue_arns: list[str],
        environment: dict[str, str],
        powertools_layer_version: int,
        architecture: str,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, id)
        layer = powertools_layer(self, powertools_layer_version, architecture)
        code = lambda_.Code.from_asset(str(ROOT), exclude=CODE_EXCLUDES)
        arch = (
            lambda_.Architecture.ARM_64 if architecture == "arm64" else lambda_.Architecture.X86_64
        )

        def function(
            name: str, handler: str, timeout: int, concurrency: int | None = None
        ) -> lambda_.Function:
            role = iam.Role(
                self, f"{name}Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com")
            )
            log_group = logs.LogGroup(self, f"{name}Logs", retention=log_retention)
            log_group.grant_write(role)
            return lambda_.Function(
                self,
                name,
                runtime=RUNTIME,
                architecture=arch,
                handler=handler,
                code=code,
                layers=[layer],
                role=role,
                timeout=Duration.seconds(timeout),
                memory_size=256,
                environment={**environment, "POWERTOOLS_SERVICE_NAME": f"conveyor-{name.lower()}"},
                log_group=log_group,
                reserved_concurrent_executions=concurrency,
            )

        self.trigger = function(
            "Trigger", "trigger_lambda.handler.handler", 30, concurrency=TRIGGER_CONCURRENCY
        )
        self.trigger.add_event_source(
            sources.SqsEventSource(
                queue,
                batch_size=TRIGGER_BATCH_SIZE,
                max_batching_window=Duration.seconds(5),
                report_batch_item_failures=True,
                max_concurrency=TRIGGER_CONCURRENCY,
            )
        )
        self.completion = function("Completion", "completion_lambda.handler.handler", 30)
        # Job state changes that could not be recorded: those EventBridge could not deliver, and
        # those the completion Lambda failed on after its retries. Reconcile repairs the ledger.
        self.completion_dead_letters = dead_letter_queue(self, "CompletionDlq")
        self.completion.configure_async_invoke(
            on_failure=destinations.SqsDestination(self.completion_dead_letters),
            retry_attempts=COMPLETION_RETRIES,
        )
        self.rule = events.Rule(
            self,
            "JobStateChanges",
            event_pattern=events.EventPattern(
                source=["aws.batch"],
                detail_type=["Batch Job State Change"],
                detail={"jobQueue": job_queue_arns},  # every queue a route names too
            ),
            targets=[
                targets.LambdaFunction(
                    self.completion,
                    dead_letter_queue=self.completion_dead_letters,
                    retry_attempts=10,
                )
            ],
        )
        self.reconcile = function("Reconcile", "completion_lambda.reconcile.handler", 300)
        self.reconcile_schedule = events.Rule(
            self,
            "ReconcileSchedule",
            schedule=events.Schedule.rate(RECONCILE_EVERY),
            targets=[targets.LambdaFunction(self.reconcile)],
        )
        # Behind the page's HTTP API (infra/web.py adds its routes, settings and permissions);
        # API Gateway waits 30 s at most for an answer.
        self.web_api = function("WebApi", "web_api.handler.handler", 29)
