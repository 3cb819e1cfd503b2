"""The local stand-ins for what the CDK stack creates beyond storage: a Batch queue and job
definition in moto (which runs nothing; the local executor does), and the upload role."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from conveyor import settings
from conveyor.jobs import COMMAND, DEFAULT_PARAMETERS, retry_strategy
from conveyor.s3 import error_code

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"},
    ],
}


def provision_compute(*, batch: Any, iam: Any, name: str) -> dict[str, str]:
    """Create (or find) the queue, job definition and upload role; return their settings."""
    service_role = _role(iam, f"{name}-batch-service")
    upload_role = _role(iam, f"{name}-upload")
    environment = _compute_environment(batch, f"{name}-compute", service_role)
    queue = _job_queue(batch, f"{name}-jobs", environment)
    definition = batch.register_job_definition(
        jobDefinitionName=f"{name}-worker",
        type="container",
        parameters=DEFAULT_PARAMETERS,
        containerProperties={
            "image": "conveyor-worker",
            "command": list(COMMAND),
            "resourceRequirements": [
                {"type": "VCPU", "value": "2"},
                {"type": "MEMORY", "value": "4096"},
            ],
        },
        retryStrategy=retry_strategy(),
    )["jobDefinitionArn"]
    return {
        settings.JOB_QUEUE: queue,
        settings.JOB_DEFINITION: definition,
        settings.UPLOAD_ROLE_ARN: upload_role,
    }


def _role(iam: Any, name: str) -> str:
    try:
        return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"][
            "Arn"
        ]
    except ClientError as err:
        if error_code(err) != "EntityAlreadyExists":
            raise
        return iam.get_role(RoleName=name)["Role"]["Arn"]


def _compute_environment(batch: Any, name: str, service_role: str) -> str:
    found = batch.describe_compute_environments(computeEnvironments=[name])["computeEnvironments"]
    if found:
        return found[0]["computeEnvironmentArn"]
    return batch.create_compute_environment(
        computeEnvironmentName=name, type="UNMANAGED", state="ENABLED", serviceRole=service_role
    )["computeEnvironmentArn"]


def _job_queue(batch: Any, name: str, environment: str) -> str:
    found = batch.describe_job_queues(jobQueues=[name])["jobQueues"]
    if found:
        return found[0]["jobQueueArn"]
    return batch.create_job_queue(
        jobQueueName=name,
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}],
    )["jobQueueArn"]
