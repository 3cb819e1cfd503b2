"""What the worker's job role may do to each bucket."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3

from infra.roles import worker_policy


def _grants(document: dict[str, Any]) -> dict[str, set[str]]:
    """Action -> the bucket logical ids its resources name."""
    found: dict[str, set[str]] = {}
    for statement in document["Statement"]:
        actions = statement["Action"]
        resources = statement["Resource"]
        for action in [actions] if isinstance(actions, str) else actions:
            for resource in [resources] if isinstance(resources, dict) else resources:
                found.setdefault(action, set()).add(str(resource))
    return found


def test_the_worker_may_remove_outputs_but_never_archive_copies() -> None:
    """hls run directories no master references are removed from the output bucket; an archive
    copy is the original's only other home and is never deleted by a job."""
    stack = cdk.Stack(cdk.App(), "Roles")
    buckets = {name: s3.Bucket(stack, name) for name in ("Staging", "Archive", "Output")}
    table = dynamodb.TableV2(
        stack, "Ledger", partition_key={"name": "pk", "type": dynamodb.AttributeType.STRING}
    )
    policy = worker_policy(
        staging=buckets["Staging"],
        archive=buckets["Archive"],
        output=buckets["Output"],
        table=table,
    )
    grants = _grants(stack.resolve(policy.to_json()))
    deletes = " ".join(grants["s3:DeleteObject"])
    assert "Output" in deletes and "Staging" in deletes
    assert "Archive" not in deletes
