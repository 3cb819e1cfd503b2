"""The staging bucket's notification queue, with a dead-letter queue for poison messages."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as notifications
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from conveyor.provisioning import MAX_RECEIVE_COUNT, VISIBILITY_TIMEOUT


def dead_letter_queue(scope: Construct, id: str) -> sqs.Queue:
    """Where messages that could not be handled wait two weeks for a person: encrypted, TLS only."""
    return sqs.Queue(
        scope,
        id,
        retention_period=Duration.days(14),
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
    )


class Queueing(Construct):
    def __init__(self, scope: Construct, id: str, *, staging: s3.IBucket) -> None:
        super().__init__(scope, id)
        self.dead_letters = dead_letter_queue(self, "StagingEventsDlq")
        self.queue = sqs.Queue(
            self,
            "StagingEvents",
            visibility_timeout=Duration.seconds(VISIBILITY_TIMEOUT),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letters, max_receive_count=MAX_RECEIVE_COUNT
            ),
        )
        staging.add_event_notification(
            s3.EventType.OBJECT_CREATED, notifications.SqsDestination(self.queue)
        )
