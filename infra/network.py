"""Where the worker runs: the VPC, its egress, and hosts whose containers cannot reach the instance
role. The worker parses untrusted media, so what a compromised ffmpeg could reach is kept small."""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

PUBLIC = "public"
PRIVATE = "private"
NETWORKS = (PUBLIC, PRIVATE)
"""`-c network=...`: public subnets (no NAT, public IPv4 per instance) or isolated subnets with
interface endpoints (no internet at all, endpoints billed by the hour)."""
MAX_AZS = 3
"""Spot capacity is found in more pools across more AZs. Synthesized without an account and region
(as `cdk deploy` does here) CDK knows two AZs, which the README's cost table assumes."""
IMDS = "169.254.169.254/32"
BLOCK_IMDS = (
    f"iptables --insert DOCKER-USER 1 --in-interface docker+ --destination {IMDS} --jump DROP"
)
"""AWS's documented rule for bridge-mode containers (Batch's ECS jobs): DOCKER-USER sees only
forwarded container traffic, so the host's ECS agent keeps IMDS; 169.254.170.2 (the task
credentials endpoint) is DNAT-ed to the local agent before FORWARD, so the job role keeps
working."""
BOOTHOOK = "\n".join(
    [
        "#cloud-boothook",
        "#!/bin/bash",
        "# Every boot, before docker starts: containers must not reach instance metadata.",
        "iptables --new-chain DOCKER-USER 2>/dev/null || true",
        f"iptables --check DOCKER-USER --in-interface docker+ --destination {IMDS} --jump DROP"
        f" 2>/dev/null || {BLOCK_IMDS}",
        "",
    ]
)
"""A cloud-boothook runs on every boot ahead of docker (iptables rules are not persisted), and
docker keeps an existing DOCKER-USER chain. Batch merges its own user data with a MIME one."""
INTERFACE_ENDPOINTS = {
    "EcrApi": ec2.InterfaceVpcEndpointAwsService.ECR,
    "EcrDocker": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
    "Ecs": ec2.InterfaceVpcEndpointAwsService.ECS,
    "EcsAgent": ec2.InterfaceVpcEndpointAwsService.ECS_AGENT,
    "EcsTelemetry": ec2.InterfaceVpcEndpointAwsService.ECS_TELEMETRY,
    "Logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
}
"""What an ECS-on-EC2 host needs without internet: register and take tasks (ECS, agent,
telemetry), pull the image (ECR api + dkr; layers come from S3's gateway endpoint), ship logs.
No STS (task credentials come from ECS) and no SSM (nobody logs in)."""


def subnet_type(network: str) -> ec2.SubnetType:
    """The workers' subnets for a layout; any other name fails the synth, naming the choices."""
    if network not in NETWORKS:
        raise ValueError(f"context network={network!r}: expected one of {', '.join(NETWORKS)}")
    return ec2.SubnetType.PUBLIC if network == PUBLIC else ec2.SubnetType.PRIVATE_ISOLATED


def worker_vpc(
    scope: Construct, *, network: str, log_retention: logs.RetentionDays
) -> tuple[ec2.Vpc, ec2.SecurityGroup]:
    """The VPC (no NAT gateway; S3 and DynamoDB through free gateway endpoints) and the workers'
    security group: nothing in, TCP 443 out (every AWS API and ECR pull is HTTPS)."""
    flow_logs = logs.LogGroup(scope, "FlowLogs", retention=log_retention)
    kind = subnet_type(network)
    vpc = ec2.Vpc(
        scope,
        "Vpc",
        max_azs=MAX_AZS,
        nat_gateways=0,
        subnet_configuration=[ec2.SubnetConfiguration(name=network, subnet_type=kind)],
        gateway_endpoints={
            "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3),
            "DynamoDB": ec2.GatewayVpcEndpointOptions(
                service=ec2.GatewayVpcEndpointAwsService.DYNAMODB
            ),
        },
        flow_logs={
            "all": ec2.FlowLogOptions(
                destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs)
            )
        },
    )
    workers = ec2.SecurityGroup(
        scope,
        "Workers",
        vpc=vpc,
        allow_all_outbound=False,
        description="Batch workers: no inbound, HTTPS out only",
    )
    workers.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "AWS APIs and ECR over HTTPS")
    if network == PRIVATE:
        interface_endpoints(scope, vpc, workers)
    return vpc, workers


def interface_endpoints(scope: Construct, vpc: ec2.Vpc, workers: ec2.SecurityGroup) -> None:
    """The endpoints isolated hosts need, reachable on 443 from the workers and nothing else."""
    endpoints = ec2.SecurityGroup(
        scope,
        "Endpoints",
        vpc=vpc,
        allow_all_outbound=False,
        description="Interface endpoints: HTTPS from the Batch workers only",
    )
    endpoints.add_ingress_rule(workers, ec2.Port.tcp(443), "Batch workers")
    for name, service in INTERFACE_ENDPOINTS.items():
        vpc.add_interface_endpoint(
            name, service=service, security_groups=[endpoints], open=False, private_dns_enabled=True
        )


def worker_launch_template(scope: Construct) -> ec2.LaunchTemplate:
    """IMDSv2 only with a hop limit of 1 (a bridged container is a hop further, so it gets no
    token), and the boothook that drops container traffic to IMDS outright."""
    user_data = ec2.MultipartUserData()
    user_data.add_part(
        ec2.MultipartBody.from_raw_body(
            content_type='text/cloud-boothook; charset="us-ascii"', body=BOOTHOOK
        )
    )
    return ec2.LaunchTemplate(
        scope,
        "WorkerHosts",
        http_endpoint=True,
        http_tokens=ec2.LaunchTemplateHttpTokens.REQUIRED,
        http_put_response_hop_limit=1,
        user_data=user_data,
    )
