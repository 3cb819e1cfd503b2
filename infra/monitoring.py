"""Alarms an operator wants to hear about, on a topic they can actually reach.

The topic is encrypted with a customer-managed key: CloudWatch and EventBridge cannot use the
AWS-managed `alias/aws/sns` key, so alarms on it would never be delivered. Each failed job also
reaches the topic itself, as one line naming the object, the job and Batch's reason.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

PERIOD = Duration.minutes(5)
STUCK_METRIC = "OldestInFlightSeconds"
"""Emitted by the reconcile Lambda (namespace Conveyor, service conveyor-reconcile)."""
PUBLISHERS = ("cloudwatch.amazonaws.com", "events.amazonaws.com")
"""The services that publish to the topic and so must use its key."""


def failed_job_line() -> events.RuleTargetInput:
    """One readable line per failed job: the object, the job, and why."""
    field = events.EventField.from_path
    return events.RuleTargetInput.from_text(
        f"Conveyor job failed: s3://{field('$.detail.parameters.bucket')}/"
        f"{field('$.detail.parameters.key')} job {field('$.detail.jobId')} "
        f"({field('$.detail.jobName')}): {field('$.detail.statusReason')}"
    )


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        dead_letters: sqs.IQueue,
        completion_failures: sqs.IQueue,
        job_queue_arns: list[str],
        trigger: lambda_.IFunction,
        stuck_after: Duration,
        email: str | None,
    ) -> None:
        super().__init__(scope, id)
        self.key = kms.Key(
            self,
            "AlarmsKey",
            description="Conveyor alarm topic: CloudWatch and EventBridge publish with it",
            enable_key_rotation=True,
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal(service) for service in PUBLISHERS],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, '*' is this key
            )
        )
        self.topic = sns.Topic(self, "Alarms", enforce_ssl=True, master_key=self.key)
        # The topic has a policy of its own (TLS only), so alarms must be let in by name.
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            )
        )
        if email:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
        # Without alarm_email the topic has no subscriber; the README says how to add one later.
        CfnOutput(self, "AlarmTopic", value=self.topic.topic_arn, description="Alarm SNS topic")
        self.failed_rule = events.Rule(
            self,
            "FailedJobs",
            event_pattern=events.EventPattern(
                source=["aws.batch"],
                detail_type=["Batch Job State Change"],
                detail={"jobQueue": job_queue_arns, "status": ["FAILED"]},
            ),
            targets=[targets.SnsTopic(self.topic, message=failed_job_line())],
        )
        alarms = [
            self._queue_alarm(
                "DeadLetters",
                dead_letters,
                "Notifications the trigger could not handle are in the DLQ",
            ),
            self._queue_alarm(
                "CompletionFailures",
                completion_failures,
                "Job state changes the completion Lambda could not record are in its DLQ; "
                "the scheduled reconcile puts the ledger right (`conveyor reconcile` at once)",
            ),
            self._alarm(
                "TriggerErrors",
                "The trigger Lambda failed; its messages are retried, then go to the DLQ",
                trigger.metric_errors(period=PERIOD, statistic="Sum"),
            ),
            self._alarm(
                "FailedJobsAlarm",
                "Conveyor jobs failed (each also sent to this topic): "
                "see `conveyor jobs --status FAILED`",
                # A rule with a target counts its matches; one without emits nothing.
                cloudwatch.Metric(
                    namespace="AWS/Events",
                    metric_name="TriggeredRules",
                    dimensions_map={"RuleName": self.failed_rule.rule_name},
                    statistic="Sum",
                    period=PERIOD,
                ),
            ),
            self._alarm(
                "WorkStuck",
                f"A ledger entry has been in flight for over {stuck_after.to_hours()} h: "
                "see `conveyor jobs` and `conveyor reconcile`",
                cloudwatch.Metric(
                    namespace="Conveyor",
                    metric_name=STUCK_METRIC,
                    dimensions_map={"service": "conveyor-reconcile"},
                    statistic="Maximum",
                    period=Duration.minutes(15),
                ),
                threshold=stuck_after.to_seconds(),
            ),
        ]
        notify = actions.SnsAction(self.topic)
        for alarm in alarms:
            alarm.add_alarm_action(notify)
        self.alarms = alarms

    def _alarm(
        self, id: str, description: str, metric: cloudwatch.IMetric, threshold: float = 0
    ) -> cloudwatch.Alarm:
        """Above `threshold` in one period; no data (nothing happened) is not an alarm."""
        return cloudwatch.Alarm(
            self,
            id,
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

    def _queue_alarm(self, id: str, queue: sqs.IQueue, description: str) -> cloudwatch.Alarm:
        """Any message waiting in `queue` is one a person should look at."""
        metric = queue.metric_approximate_number_of_messages_visible(period=PERIOD)
        return self._alarm(id, description, metric)
