"""The Conveyor stack: storage, queueing, ledger, compute, functions, alarms and the upload page,
wired here."""

from __future__ import annotations

import json

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from conveyor import settings
from conveyor.operations import MAX_CHAINED_SESSION
from conveyor.routing import parse_routes
from infra.compute import Compute
from infra.events import ConveyorEvents, put_conveyor_events, webhook_url
from infra.functions import Functions
from infra.ledger import LedgerTable
from infra.monitoring import Monitoring
from infra.network import PUBLIC
from infra.page import CLOUDFRONT_ORIGINS, page_folder
from infra.queueing import Queueing
from infra.roles import (
    ledger_status_query,
    ledger_write,
    manifests_read,
    operator_manifests,
    statement,
    upload_policy,
    upload_trust,
    worker_policy,
)
from infra.routes import route_targets
from infra.storage import Storage
from infra.web import Web

PAGE_URL_OUTPUT = "PageUrl"


def names(value: object) -> list[str]:
    """A context list: `-c key=a,b` on the command line, or a JSON list in cdk.json."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)  # type: ignore[call-overload]
    return [str(item).strip() for item in items if str(item).strip()]


class ConveyorStack(Stack):
    def __init__(self, scope: Construct, id: str, **kwargs: object) -> None:
        super().__init__(scope, id, **kwargs)  # type: ignore[arg-type]
        ctx = self.node.try_get_context
        retain = str(ctx("retain_data") if ctx("retain_data") is not None else "true").lower()
        removal = RemovalPolicy.RETAIN if retain == "true" else RemovalPolicy.DESTROY
        retention = logs.RetentionDays.ONE_MONTH
        architecture = ctx("architecture") or "x86_64"
        timeout_hours = int(ctx("job_timeout_hours") or settings.DEFAULT_JOB_TIMEOUT // 3600)
        routes = ctx("routes")
        if routes is not None:
            routes = routes if isinstance(routes, str) else json.dumps(routes)
        rules = parse_routes(routes)  # an invalid rule fails the synth, naming the rule

        storage = Storage(
            self,
            "Storage",
            # The upload page's origin too (see CLOUDFRONT_ORIGINS for why a pattern).
            cors_origins=[*names(ctx("cors_origins")), CLOUDFRONT_ORIGINS],
            archive_transition_days=int(ctx("archive_transition_days") or 0) or None,
            removal=removal,
        )
        queueing = Queueing(self, "Queueing", staging=storage.staging)
        ledger = LedgerTable(self, "Ledger", removal=removal)
        table = ledger.table

        shared = {
            settings.STAGING_BUCKET: storage.staging.bucket_name,
            settings.ARCHIVE_BUCKET: storage.archive.bucket_name,
            settings.OUTPUT_BUCKET: storage.output.bucket_name,
            settings.LEDGER_TABLE: table.table_name,
        }
        job_role = iam.Role(
            self,
            "WorkerRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            inline_policies={
                "worker": worker_policy(
                    staging=storage.staging,
                    archive=storage.archive,
                    output=storage.output,
                    table=table,
                )
            },
        )
        compute = Compute(
            self,
            "Batch",
            job_role=job_role,
            environment=shared,
            vcpus=int(ctx("vcpus") or 4),
            memory_mib=int(ctx("memory_mib") or 8192),
            max_vcpus=int(ctx("max_vcpus") or 256),
            timeout=Duration.hours(timeout_hours),
            architecture=architecture,
            log_retention=retention,
            network=str(ctx("network") or PUBLIC),  # any other value than public/private fails
        )
        # Every queue and definition a route names: the trigger may submit there, the rules hear it.
        targets = route_targets(
            self,
            rules,
            queue_arn=compute.queue.job_queue_arn,
            definition=compute.job_definition.job_definition_name,
        )
        functions = Functions(
            self,
            "Functions",
            queue=queueing.queue,
            job_queue_arns=list(targets.queue_arns),
            environment={
                **shared,
                settings.JOB_QUEUE: compute.queue.job_queue_arn,
                settings.JOB_DEFINITION: compute.job_definition.job_definition_arn,
                # Only the trigger routes: a job carries its route's choices in its spec.
                **({settings.ROUTES: routes} if routes is not None else {}),
            },
            powertools_layer_version=int(ctx("powertools_layer_version") or 27),
            architecture=architecture,
            log_retention=retention,
        )
        functions.trigger.role.attach_inline_policy(  # type: ignore[union-attr]
            iam.Policy(
                self,
                "TriggerPolicy",
                statements=[
                    ledger_write(table),
                    statement(["batch:SubmitJob"], [*targets.queue_arns, *targets.definition_arns]),
                    # A SubmitJob whose answer was lost is looked up by name before another
                    # try (conveyor.submit_once); ListJobs takes no narrower resource.
                    statement(["batch:ListJobs"], ["*"]),
                    statement(
                        ["s3:GetObject", "s3:GetObjectVersion"],
                        [storage.staging.arn_for_objects("*")],
                    ),
                    # Pinning an event without a version id lists the key's versions.
                    statement(["s3:ListBucketVersions"], [storage.staging.bucket_arn]),
                ],
            )
        )
        conveyor_events = ConveyorEvents(
            self,
            "Events",
            staging=storage.staging,
            retention=retention,
            webhook=webhook_url(ctx("webhook_url")),  # not https: the synth fails, saying so
            webhook_secret_arn=ctx("webhook_secret_arn") or None,
            webhook_auth=ctx("webhook_auth") or None,
            webhook_header=ctx("webhook_header") or None,
        )
        # The one event per file that ends: put on the default bus, nowhere else.
        put_events = put_conveyor_events(self)
        functions.completion.role.attach_inline_policy(  # type: ignore[union-attr]
            iam.Policy(
                self,
                "CompletionPolicy",
                statements=[ledger_write(table), manifests_read(storage.archive), put_events],
            )
        )
        # Attach to the operators' own role: bulk resubmission writes its manifests here.
        iam.ManagedPolicy(
            self,
            "OperatorManifests",
            description="conveyor resubmit/reprocess in bulk: the archive's .conveyor/manifests/",
            document=operator_manifests(storage.archive),
        )
        functions.reconcile.role.attach_inline_policy(  # type: ignore[union-attr]
            iam.Policy(
                self,
                "ReconcilePolicy",
                statements=[
                    ledger_status_query(table),
                    ledger_write(table),
                    statement(["batch:DescribeJobs"], ["*"]),  # no resource-level permissions
                    put_events,  # an entry it ends is announced as the completion does
                ],
            )
        )
        upload_role = iam.Role(
            self,
            "UploadRole",
            assumed_by=upload_trust(
                names(ctx("upload_issuers")),
                [functions.web_api.role],  # type: ignore[list-item]
            ),
            description="Assumed by conveyor credentials, narrowed to one key by a session policy",
            inline_policies={"upload": upload_policy(storage.staging)},
            max_session_duration=Duration.seconds(MAX_CHAINED_SESSION),
        )
        web = Web(
            self,
            "Web",
            handler=functions.web_api,
            staging=storage.staging,
            output=storage.output,
            access_logs=storage.access_logs,
            table=table,
            upload_role=upload_role,
            submit_to=[*targets.queue_arns, *targets.definition_arns],
            page_folder=page_folder(ctx("web_dist")),  # missing: "run `make web` first"
            auth_domain_prefix=ctx("auth_domain_prefix"),
            removal=removal,
            log_retention=retention,
        )
        Monitoring(
            self,
            "Monitoring",
            dead_letters=queueing.dead_letters,
            completion_failures=functions.completion_dead_letters,
            job_queue_arns=list(targets.queue_arns),
            trigger=functions.trigger,
            # In flight longer than a job may run, and an hour more: nothing is moving it.
            stuck_after=Duration.hours(timeout_hours + 1),
            email=ctx("alarm_email"),
        )
        outputs = {
            **shared,
            settings.STAGING_QUEUE: queueing.queue.queue_url,
            settings.JOB_QUEUE: compute.queue.job_queue_arn,
            settings.JOB_DEFINITION: compute.job_definition.job_definition_arn,
            settings.UPLOAD_ROLE_ARN: upload_role.role_arn,
            settings.LOG_GROUP: compute.log_group.log_group_name,
            settings.EVENTS_LOG_GROUP: conveyor_events.log_group.log_group_name,
            settings.USER_POOL_ID: web.auth.pool.user_pool_id,
            settings.USER_POOL_CLIENT_ID: web.auth.client.user_pool_client_id,
            settings.WEB_ORIGIN: web.origin,
            # The CLI (`--stack`) routes as the trigger does: resubmit --reroute, sweep, reprocess.
            **({settings.ROUTES: routes} if routes is not None else {}),
        }
        for name, value in outputs.items():
            CfnOutput(self, settings.output_name(name), value=value, description=name)
        CfnOutput(
            self, PAGE_URL_OUTPUT, value=web.page_url, description="The upload page: sign in here"
        )
