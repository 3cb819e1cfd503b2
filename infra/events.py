"""Conveyor's own events, for other systems: the rule on the default bus that keeps them in a log
group (`conveyor events` reads it), and, with `-c webhook_url=https://...`, the same events POSTed
to that URL by an EventBridge API destination (no sender of ours), with retries and a DLQ.

The log group's resource policy is a native AWS::Logs::ResourcePolicy: CDK's CloudWatchLogGroup
target would write it through a custom-resource Lambda allowed logs:PutResourcePolicy on '*'.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import jsii
from aws_cdk import ArnFormat, Duration, SecretValue, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from conveyor.errors import ConfigError
from conveyor.events.outcome import SOURCE
from conveyor.provisioning import events_log_group, events_pattern
from infra.queueing import dead_letter_queue

WEBHOOK_RETRIES = 185
"""EventBridge's most: a receiver down for a while still gets every event (within a day)."""
WEBHOOK_MAX_AGE = Duration.hours(24)
DEFAULT_API_KEY_HEADER = "x-api-key"
NO_AUTH_HEADER = "x-conveyor-webhook"
"""EventBridge connections always authorize: without a secret, this header says only where the
request comes from (no credential)."""
AUTH_KINDS = ("api_key", "basic")


def default_bus_arn(scope: Construct) -> str:
    """`arn:${Partition}:events:${Region}:${Account}:event-bus/default`: where events are put."""
    return Stack.of(scope).format_arn(
        service="events",
        resource="event-bus",
        resource_name="default",
        arn_format=ArnFormat.SLASH_RESOURCE_NAME,
    )


def put_conveyor_events(scope: Construct) -> iam.PolicyStatement:
    """events:PutEvents on the default bus, of Conveyor's own events only: a role holding it
    cannot pass its events off as another service's (`events:source` is the entry's Source)."""
    return iam.PolicyStatement(
        actions=["events:PutEvents"],
        resources=[default_bus_arn(scope)],
        conditions={"StringEquals": {"events:source": SOURCE}},
    )


def webhook_url(value: object) -> str | None:
    """`-c webhook_url=...`, refused at synth unless it is an https URL with a host."""
    if value is None or value == "":
        return None
    url = str(value).strip()
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigError(
            f"webhook_url {url!r} must be an https:// URL with a host (EventBridge API "
            "destinations call HTTPS endpoints only)"
        )
    return url


@jsii.implements(events.IRuleTarget)
class _LogGroupTarget:
    """The rule's target: the log group's ARN (its resource policy lets EventBridge write)."""

    def __init__(self, group: logs.LogGroup) -> None:
        self._group = group

    def bind(self, rule: events.IRule, id: str | None = None) -> events.RuleTargetConfig:
        return events.RuleTargetConfig(arn=log_group_arn(self._group))


def log_group_arn(group: logs.LogGroup) -> str:
    """The group's ARN without the `:*` CloudFormation's Arn attribute ends with."""
    return Stack.of(group).format_arn(
        service="logs",
        resource="log-group",
        resource_name=group.log_group_name,
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


class ConveyorEvents(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        staging: s3.IBucket,
        retention: logs.RetentionDays,
        webhook: str | None = None,
        webhook_secret_arn: str | None = None,
        webhook_auth: str | None = None,
        webhook_header: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        stack = Stack.of(self)
        self.log_group = logs.LogGroup(
            self,
            "Log",
            log_group_name=events_log_group(stack.stack_name),
            retention=retention,
        )
        pattern = events_pattern(staging.bucket_name)
        self.rule = events.Rule(
            self,
            "ToLog",
            description="Conveyor's Object Processed / Object Failed events, kept in a log group",
            event_pattern=events.EventPattern(source=pattern["source"], detail=pattern["detail"]),
            targets=[_LogGroupTarget(self.log_group)],
        )
        logs.ResourcePolicy(
            self,
            "EventsMayWrite",
            policy_statements=[
                iam.PolicyStatement(
                    principals=[
                        iam.ServicePrincipal("events.amazonaws.com"),
                        iam.ServicePrincipal("delivery.logs.amazonaws.com"),
                    ],
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[self.log_group.log_group_arn],
                    conditions={"ArnEquals": {"aws:SourceArn": self.rule.rule_arn}},
                )
            ],
        )
        self.destination: events.ApiDestination | None = None
        if webhook is not None:
            self.destination = self._webhook(
                webhook, webhook_secret_arn, webhook_auth or "api_key", webhook_header
            )

    def _webhook(
        self, url: str, secret_arn: str | None, auth: str, header: str | None
    ) -> events.ApiDestination:
        """The API destination POSTing each event, as delivered, to `url`."""
        if auth not in AUTH_KINDS:
            raise ConfigError(f"webhook_auth {auth!r} must be one of {', '.join(AUTH_KINDS)}")
        if secret_arn is None:
            authorization = events.Authorization.api_key(
                NO_AUTH_HEADER, SecretValue.unsafe_plain_text("conveyor")
            )
        elif auth == "basic":  # the secret: {"username": ..., "password": ...}
            authorization = events.Authorization.basic(
                SecretValue.secrets_manager(secret_arn, json_field="username").unsafe_unwrap(),
                SecretValue.secrets_manager(secret_arn, json_field="password"),
            )
        else:  # the secret's whole string is the key
            authorization = events.Authorization.api_key(
                header or DEFAULT_API_KEY_HEADER, SecretValue.secrets_manager(secret_arn)
            )
        connection = events.Connection(
            self,
            "WebhookConnection",
            authorization=authorization,
            description="Conveyor's webhook: how EventBridge authorizes to the receiver",
        )
        destination = events.ApiDestination(
            self,
            "Webhook",
            connection=connection,
            endpoint=url,
            http_method=events.HttpMethod.POST,
            description="Conveyor's events, POSTed as EventBridge delivers them",
        )
        self.webhook_dead_letters = dead_letter_queue(self, "WebhookDlq")
        self.rule.add_target(
            targets.ApiDestination(
                destination,
                dead_letter_queue=self.webhook_dead_letters,
                retry_attempts=WEBHOOK_RETRIES,
                max_event_age=WEBHOOK_MAX_AGE,
            )
        )
        return destination
