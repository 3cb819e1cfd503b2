"""Alarms an operator wants to hear about: messages in a DLQ, jobs that failed."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        dead_letters: sqs.IQueue,
        completion_failures: sqs.IQueue,
        job_queue_arn: str,
        email: str | None,
    ) -> None:
        super().__init__(scope, id)
        self.topic = sns.Topic(
            self,
            "Alarms",
            enforce_ssl=True,
            master_key=kms.Alias.from_alias_name(self, "SnsKey", "alias/aws/sns"),
        )
        if email:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
        notify = actions.SnsAction(self.topic)
        self.dlq_alarm = self._queue_alarm(
            "DeadLetters", dead_letters, "Notifications the trigger could not handle are in the DLQ"
        )
        self.dlq_alarm.add_alarm_action(notify)
        self.completion_alarm = self._queue_alarm(
            "CompletionFailures",
            completion_failures,
            "Job state changes the completion Lambda could not record are in its DLQ; "
            "the scheduled reconcile puts the ledger right (`conveyor reconcile` at once)",
        )
        self.completion_alarm.add_alarm_action(notify)
        failed = events.Rule(
            self,
            "FailedJobs",
            event_pattern=events.EventPattern(
                source=["aws.batch"],
                detail_type=["Batch Job State Change"],
                detail={"jobQueue": [job_queue_arn], "status": ["FAILED"]},
            ),
        )
        self.failed_alarm = cloudwatch.Alarm(
            self,
            "FailedJobsAlarm",
            alarm_description="Conveyor jobs failed: see `conveyor jobs --status FAILED`",
            metric=cloudwatch.Metric(
                namespace="AWS/Events",
                metric_name="MatchedEvents",
                dimensions_map={"RuleName": failed.rule_name},
                statistic="Sum",
                period=Duration.minutes(5),
            ),
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.failed_alarm.add_alarm_action(notify)

    def _queue_alarm(self, id: str, queue: sqs.IQueue, description: str) -> cloudwatch.Alarm:
        """Any message waiting in `queue` is one a person should look at."""
        return cloudwatch.Alarm(
            self,
            id,
            alarm_description=description,
            metric=queue.metric_approximate_number_of_messages_visible(period=Duration.minutes(5)),
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
