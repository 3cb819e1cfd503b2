"""Array jobs' manifests: the completion function reads them, an operator's managed policy
writes them, and nothing reaches beyond the archive's .conveyor/manifests/."""

from __future__ import annotations

import os
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")  # node 20 here

import aws_cdk as cdk
from aws_cdk.assertions import Template

from infra.app import build
from tests.infra.test_stack import actions_of, function_named, resources, role_statements


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    _, stack = build(cdk.App(outdir=str(tmp_path_factory.mktemp("cdk.out"))))
    return Template.from_stack(stack)


def manifests_arn(template: Template) -> dict[str, Any]:
    [archive] = [
        n for n in resources(template, "AWS::S3::Bucket") if n.startswith("StorageArchive")
    ]
    return {"Fn::Join": ["", [{"Fn::GetAtt": [archive, "Arn"]}, "/.conveyor/manifests/*"]]}


def test_the_completion_function_reads_manifests_only(template: Template) -> None:
    completion = function_named(template, "completion_lambda.handler.handler")
    s3 = {
        action: statement["Resource"]
        for statement in role_statements(template, completion)
        for action in actions_of(statement)
        if action.startswith("s3:")
    }
    assert s3 == {"s3:GetObject": manifests_arn(template)}


def test_operators_get_a_policy_to_write_manifests(template: Template) -> None:
    [policy] = [
        p["Properties"]
        for n, p in resources(template, "AWS::IAM::ManagedPolicy").items()
        if n.startswith("OperatorManifests")
    ]
    [statement] = policy["PolicyDocument"]["Statement"]
    assert sorted(actions_of(statement)) == ["s3:GetObject", "s3:PutObject"]
    assert statement["Resource"] == manifests_arn(template)
