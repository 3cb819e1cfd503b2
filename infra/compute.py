"""AWS Batch: Spot first, on-demand second, on hardened hosts in a VPC without NAT gateway
(infra/network.py), running the worker."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, Size, Stack
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from conveyor import settings
from conveyor.jobs import COMMAND, DEFAULT_PARAMETERS, RETRY_ATTEMPTS, RETRY_RULES
from infra.network import PUBLIC, subnet_type, worker_launch_template, worker_vpc

ROOT = Path(__file__).resolve().parent.parent
"""The repository: the Dockerfile's build context."""
VIDEO_INSTANCE_CLASSES = {
    "x86_64": (ec2.InstanceClass.C6I, ec2.InstanceClass.C7I, ec2.InstanceClass.M6I),
    "arm64": (ec2.InstanceClass.C7G, ec2.InstanceClass.C6G, ec2.InstanceClass.M7G),
}
"""Compute-optimised families first: encoding is CPU-bound; m-class for larger masters."""


class Compute(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        job_role: iam.IRole,
        environment: dict[str, str],
        vcpus: int,
        memory_mib: int,
        max_vcpus: int,
        timeout: Duration,
        architecture: str,
        log_retention: logs.RetentionDays,
        network: str = PUBLIC,
    ) -> None:
        super().__init__(scope, id)
        self.vpc, security_group = worker_vpc(self, network=network, log_retention=log_retention)
        hosts = worker_launch_template(self)
        classes = list(VIDEO_INSTANCE_CLASSES[architecture])
        common = {
            "vpc": self.vpc,
            "vpc_subnets": ec2.SubnetSelection(subnet_type=subnet_type(network)),
            "security_groups": [security_group],
            "instance_classes": classes,
            "use_optimal_instance_classes": False,
            "maxv_cpus": max_vcpus,
            "minv_cpus": 0,
            "launch_template": hosts,
            "images": [batch.EcsMachineImage(image_type=batch.EcsMachineImageType.ECS_AL2023)],
        }
        self.spot = batch.ManagedEc2EcsComputeEnvironment(
            self,
            "Spot",
            spot=True,
            allocation_strategy=batch.AllocationStrategy.SPOT_PRICE_CAPACITY_OPTIMIZED,
            **common,
        )
        self.on_demand = batch.ManagedEc2EcsComputeEnvironment(
            self,
            "OnDemand",
            allocation_strategy=batch.AllocationStrategy.BEST_FIT_PROGRESSIVE,
            **common,
        )
        self.queue = batch.JobQueue(
            self,
            "Queue",
            compute_environments=[
                batch.OrderedComputeEnvironment(compute_environment=self.spot, order=1),
                batch.OrderedComputeEnvironment(compute_environment=self.on_demand, order=2),
            ],
        )
        self.log_group = logs.LogGroup(self, "WorkerLogs", retention=log_retention)
        platform = (
            ecr_assets.Platform.LINUX_ARM64
            if architecture == "arm64"
            else ecr_assets.Platform.LINUX_AMD64
        )
        image = ecs.ContainerImage.from_asset(str(ROOT), file="Dockerfile", platform=platform)
        self.job_definition = batch.EcsJobDefinition(
            self,
            "Worker",
            container=batch.EcsEc2ContainerDefinition(
                self,
                "Container",
                image=image,
                cpu=vcpus,
                memory=Size.mebibytes(memory_mib),
                command=list(COMMAND),
                # On ECS-on-EC2 botocore does not read the region from instance metadata.
                environment={
                    **environment,
                    "AWS_REGION": Stack.of(self).region,
                    "AWS_DEFAULT_REGION": Stack.of(self).region,
                    settings.JOB_TIMEOUT: str(int(timeout.to_seconds())),
                },
                job_role=job_role,
                logging=ecs.LogDriver.aws_logs(stream_prefix="conveyor", log_group=self.log_group),
            ),
            parameters=DEFAULT_PARAMETERS,
            timeout=timeout,
            retry_attempts=RETRY_ATTEMPTS,
            retry_strategies=[retry_strategy(rule) for rule in RETRY_RULES],
        )


def retry_strategy(rule: dict[str, str]) -> batch.RetryStrategy:
    """One of the job contract's retry rules (conveyor.jobs.RETRY_RULES) as CDK spells it."""
    reason = batch.Reason.custom(
        on_exit_code=rule.get("onExitCode"),
        on_status_reason=rule.get("onStatusReason"),
        on_reason=rule.get("onReason"),
    )
    return batch.RetryStrategy.of(batch.Action[rule["action"]], reason)
