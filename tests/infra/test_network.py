"""The worker's reach, on the synthesized template: hosts whose containers cannot use the instance
role, HTTPS-only egress, and the private layout without internet (issue 11, point 7)."""

from __future__ import annotations

import os
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")  # node 20 here

import aws_cdk as cdk
from aws_cdk.assertions import Annotations, Match, Template

from infra.app import build

INTERFACE_SERVICES = {"ecr.api", "ecr.dkr", "ecs", "ecs-agent", "ecs-telemetry", "logs"}
"""What an ECS host needs without internet; S3 and DynamoDB stay gateway endpoints."""


def synthesize(tmp: Any, **context: str) -> tuple[cdk.Stack, Template]:
    _, stack = build(cdk.App(outdir=str(tmp), context=context))
    return stack, Template.from_stack(stack)


@pytest.fixture(scope="module")
def public(tmp_path_factory: pytest.TempPathFactory) -> tuple[cdk.Stack, Template]:
    return synthesize(tmp_path_factory.mktemp("public"))


@pytest.fixture(scope="module")
def private(tmp_path_factory: pytest.TempPathFactory) -> tuple[cdk.Stack, Template]:
    return synthesize(tmp_path_factory.mktemp("private"), network="private")


def of_type(template: Template, kind: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in template.find_resources(kind).values()]


def user_data(template: Template) -> str:
    [launch_template] = of_type(template, "AWS::EC2::LaunchTemplate")
    encoded = launch_template["LaunchTemplateData"]["UserData"]["Fn::Base64"]
    assert isinstance(encoded, str)  # no tokens: the script is fixed text
    return encoded


@pytest.mark.parametrize("layout", ["public", "private"])
def test_hosts_require_imdsv2_one_hop_and_drop_container_imds(
    layout: str, request: pytest.FixtureRequest
) -> None:
    _, template = request.getfixturevalue(layout)
    [launch_template] = of_type(template, "AWS::EC2::LaunchTemplate")
    assert launch_template["LaunchTemplateData"]["MetadataOptions"] == {
        "HttpEndpoint": "enabled",
        "HttpTokens": "required",  # IMDSv2 only
        "HttpPutResponseHopLimit": 1,  # a bridged container is a hop further: no token
    }
    script = user_data(template)
    # Batch merges its own user data: ours must be MIME multi-part, run before docker (boothook).
    assert script.startswith("Content-Type: multipart/mixed")
    assert "Content-Type: text/cloud-boothook" in script
    assert (
        "iptables --insert DOCKER-USER 1 --in-interface docker+ "
        "--destination 169.254.169.254/32 --jump DROP"
    ) in script
    assert "169.254.170.2" not in script  # the task credentials endpoint stays reachable
    environments = of_type(template, "AWS::Batch::ComputeEnvironment")
    assert len(environments) == 2
    [template_id] = template.find_resources("AWS::EC2::LaunchTemplate")
    for environment in environments:
        resources = environment["ComputeResources"]
        assert resources["LaunchTemplate"] == {"LaunchTemplateId": {"Ref": template_id}}
        assert resources["Ec2Configuration"] == [{"ImageType": "ECS_AL2023"}]


@pytest.mark.parametrize("layout", ["public", "private"])
def test_workers_egress_is_tcp_443_only(layout: str, request: pytest.FixtureRequest) -> None:
    _, template = request.getfixturevalue(layout)
    [workers] = [
        p
        for p in of_type(template, "AWS::EC2::SecurityGroup")
        if p["GroupDescription"].startswith("Batch workers")
    ]
    assert [
        (e["IpProtocol"], e["FromPort"], e["ToPort"]) for e in workers["SecurityGroupEgress"]
    ] == [("tcp", 443, 443)]
    assert "SecurityGroupIngress" not in workers
    assert not of_type(template, "AWS::EC2::SecurityGroupEgress")  # no rule added elsewhere
    for ingress in of_type(template, "AWS::EC2::SecurityGroupIngress"):
        assert "CidrIp" not in ingress  # only the endpoints' ingress from the workers


def test_public_layout_has_public_subnets_and_only_gateway_endpoints(
    public: tuple[cdk.Stack, Template],
) -> None:
    _, template = public
    subnets = of_type(template, "AWS::EC2::Subnet")
    assert subnets and all(s["MapPublicIpOnLaunch"] for s in subnets)
    endpoints = of_type(template, "AWS::EC2::VPCEndpoint")
    assert sorted(e["VpcEndpointType"] for e in endpoints) == ["Gateway", "Gateway"]


def service(endpoint: dict[str, Any]) -> str:
    parts = endpoint["ServiceName"]["Fn::Join"][1]  # com.amazonaws.<region>.<service>
    return str(parts[-1]).removeprefix(".")


def test_private_layout_isolated_subnets_and_interface_endpoints(
    private: tuple[cdk.Stack, Template],
) -> None:
    _, template = private
    subnets = of_type(template, "AWS::EC2::Subnet")
    assert subnets and not any(s.get("MapPublicIpOnLaunch") for s in subnets)
    assert not template.find_resources("AWS::EC2::InternetGateway")
    assert not template.find_resources("AWS::EC2::NatGateway")
    endpoints = of_type(template, "AWS::EC2::VPCEndpoint")
    gateways = {service(e) for e in endpoints if e["VpcEndpointType"] == "Gateway"}
    interfaces = [e for e in endpoints if e["VpcEndpointType"] == "Interface"]
    assert gateways == {"s3", "dynamodb"}
    assert {service(e) for e in interfaces} == INTERFACE_SERVICES
    groups = template.find_resources("AWS::EC2::SecurityGroup")
    [endpoint_group] = [
        name for name, g in groups.items() if g["Properties"]["GroupDescription"].startswith("Int")
    ]
    [workers] = [n for n in groups if n != endpoint_group]
    for endpoint in interfaces:
        assert endpoint["PrivateDnsEnabled"] is True  # the SDKs' default names resolve inside
        assert endpoint["SecurityGroupIds"] == [{"Fn::GetAtt": [endpoint_group, "GroupId"]}]
    [ingress] = of_type(template, "AWS::EC2::SecurityGroupIngress")
    assert ingress["GroupId"] == {"Fn::GetAtt": [endpoint_group, "GroupId"]}
    assert ingress["SourceSecurityGroupId"] == {"Fn::GetAtt": [workers, "GroupId"]}
    assert (ingress["IpProtocol"], ingress["FromPort"], ingress["ToPort"]) == ("tcp", 443, 443)
    isolated = {f"Ref:{name}" for name in template.find_resources("AWS::EC2::Subnet")}
    for environment in of_type(template, "AWS::Batch::ComputeEnvironment"):
        chosen = {f"Ref:{s['Ref']}" for s in environment["ComputeResources"]["Subnets"]}
        assert chosen == isolated


@pytest.mark.parametrize("layout", ["public", "private"])
def test_cdk_nag_clean(layout: str, request: pytest.FixtureRequest) -> None:
    stack, _ = request.getfixturevalue(layout)
    annotations = Annotations.from_stack(stack)
    assert annotations.find_error("*", Match.string_like_regexp("AwsSolutions-.*")) == []
    assert annotations.find_warning("*", Match.string_like_regexp("AwsSolutions-.*")) == []


def test_an_unknown_network_fails_the_synth(tmp_path: Any) -> None:
    with pytest.raises(ValueError, match=r"network='nat'.*public, private"):
        synthesize(tmp_path, network="nat")
