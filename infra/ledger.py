"""The ledger table, with the same keys and indexes as `conveyor local provision` creates."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from conveyor.ledger.schema import INDEXES, PARTITION_KEY, SORT_KEY


class LedgerTable(Construct):
    def __init__(self, scope: Construct, id: str, *, removal: RemovalPolicy) -> None:
        super().__init__(scope, id)
        self.table = dynamodb.TableV2(
            self,
            "Table",
            partition_key=dynamodb.Attribute(
                name=PARTITION_KEY, type=dynamodb.AttributeType.STRING
            ),
            sort_key=dynamodb.Attribute(name=SORT_KEY, type=dynamodb.AttributeType.STRING),
            billing=dynamodb.Billing.on_demand(),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=removal,
            global_secondary_indexes=[
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name=name,
                    partition_key=dynamodb.Attribute(
                        name=hash_key, type=dynamodb.AttributeType.STRING
                    ),
                    sort_key=(
                        dynamodb.Attribute(name=range_key, type=dynamodb.AttributeType.STRING)
                        if range_key
                        else None
                    ),
                    projection_type=dynamodb.ProjectionType.ALL,
                )
                for name, (hash_key, range_key) in INDEXES.items()
            ],
        )
