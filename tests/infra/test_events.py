"""Conveyor's own events in the CDK stack: exactly events:PutEvents on the default bus for the
functions that announce, the rule keeping them in a log group, and the webhook (an API
destination) only with `-c webhook_url=https://...`, linted as the rest of the template."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")  # node 20 here

import aws_cdk as cdk
from aws_cdk.assertions import Annotations, Match, Template

from conveyor import settings
from conveyor.errors import ConfigError
from conveyor.settings import output_name
from infra.app import build
from tests.infra.test_linters import CFN_LINT, CHECKOV, run
from tests.infra.test_stack import actions_of, function_named, resources, role_statements

SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:conveyor-webhook-AbCdEf"
DEFAULT_BUS = {
    "Fn::Join": [
        "",
        [
            "arn:",
            {"Ref": "AWS::Partition"},
            ":events:",
            {"Ref": "AWS::Region"},
            ":",
            {"Ref": "AWS::AccountId"},
            ":event-bus/default",
        ],
    ]
}


def synth(outdir: Path, **context: str) -> tuple[Any, Any, Template]:
    app, stack = build(cdk.App(outdir=str(outdir), context={"alarm_email": "a@b.c", **context}))
    return app, stack, Template.from_stack(stack)


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Template:
    return synth(tmp_path_factory.mktemp("cdk.out"))[2]


@pytest.fixture(scope="module")
def webhook(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any, Template]:
    return synth(
        tmp_path_factory.mktemp("cdk.out"),
        webhook_url="https://hooks.example.com/conveyor",
        webhook_secret_arn=SECRET,
    )


def put_events_grants(template: Template) -> dict[str, list[Any]]:
    """Each policy granting anything of EventBridge's: the resources it names."""
    found: dict[str, list[Any]] = {}
    for name, policy in resources(template, "AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if any(a.startswith("events:") for a in actions_of(statement)):
                found.setdefault(name, []).append((actions_of(statement), statement["Resource"]))
    return found


def test_only_the_announcers_may_put_events_and_only_theirs_on_the_default_bus(
    plain: Template,
) -> None:
    grants = put_events_grants(plain)
    assert len(grants) == 2
    assert all(name.startswith(("CompletionPolicy", "ReconcilePolicy")) for name in grants)
    for name in ("completion_lambda.handler.handler", "completion_lambda.reconcile.handler"):
        statements = role_statements(plain, function_named(plain, name))
        mine = [s for s in statements if any(a.startswith("events:") for a in actions_of(s))]
        assert [(actions_of(s), s["Resource"], s.get("Condition")) for s in mine] == [
            (["events:PutEvents"], DEFAULT_BUS, {"StringEquals": {"events:source": "conveyor"}})
        ]


def test_a_rule_keeps_conveyors_events_in_a_log_group(plain: Template) -> None:
    rules = [r["Properties"] for r in resources(plain, "AWS::Events::Rule").values()]
    [rule] = [r for r in rules if r.get("EventPattern", {}).get("source") == ["conveyor"]]
    [staging] = [n for n in resources(plain, "AWS::S3::Bucket") if n.startswith("StorageStaging")]
    assert rule["EventPattern"] == {
        "source": ["conveyor"],
        "detail": {"bucket": [{"Ref": staging}]},
    }
    assert "EventBusName" not in rule  # the default bus
    [group] = [
        n
        for n, g in resources(plain, "AWS::Logs::LogGroup").items()
        if g["Properties"].get("LogGroupName") == "/conveyor/Conveyor/events"
    ]
    assert resources(plain, "AWS::Logs::LogGroup")[group]["Properties"]["RetentionInDays"] == 30
    [target] = rule["Targets"]
    assert {"Ref": group} in target["Arn"]["Fn::Join"][1]
    [policy] = resources(plain, "AWS::Logs::ResourcePolicy").values()
    document = json.dumps(policy["Properties"]["PolicyDocument"])
    assert "events.amazonaws.com" in document and "logs:PutLogEvents" in document
    assert "aws:SourceArn" in document
    assert output_name(settings.EVENTS_LOG_GROUP) in plain.find_outputs("*")
    assert resources(plain, "AWS::Events::ApiDestination") == {}
    assert resources(plain, "AWS::Events::Connection") == {}


def test_the_webhook_is_an_api_destination_with_retries_and_a_dlq(
    webhook: tuple[Any, Any, Template],
) -> None:
    _, stack, template = webhook
    [destination] = resources(template, "AWS::Events::ApiDestination").values()
    assert destination["Properties"]["InvocationEndpoint"] == "https://hooks.example.com/conveyor"
    assert destination["Properties"]["HttpMethod"] == "POST"
    [connection] = resources(template, "AWS::Events::Connection").values()
    auth = connection["Properties"]["AuthParameters"]["ApiKeyAuthParameters"]
    assert auth["ApiKeyName"] == "x-api-key"
    assert auth["ApiKeyValue"] == f"{{{{resolve:secretsmanager:{SECRET}:SecretString:::}}}}"
    rules = [r["Properties"] for r in resources(template, "AWS::Events::Rule").values()]
    [rule] = [r for r in rules if r.get("EventPattern", {}).get("source") == ["conveyor"]]
    [hook] = [t for t in rule["Targets"] if "ApiDestination" in json.dumps(t["Arn"])]
    assert hook["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
    assert "DeadLetterConfig" in hook
    errors = Annotations.from_stack(stack).find_error(
        "*", Match.string_like_regexp("AwsSolutions-.*")
    )
    assert errors == [], [f"{e.id}: {e.entry.data}" for e in errors]


def test_without_a_secret_the_connection_carries_no_credential(tmp_path: Path) -> None:
    _, _, template = synth(tmp_path, webhook_url="https://hooks.example.com/x")
    [connection] = resources(template, "AWS::Events::Connection").values()
    auth = connection["Properties"]["AuthParameters"]["ApiKeyAuthParameters"]
    assert auth == {"ApiKeyName": "x-conveyor-webhook", "ApiKeyValue": "conveyor"}


@pytest.mark.parametrize(
    "url", ["http://hooks.example.com/x", "hooks.example.com/x", "https://", "ftp://a.b/c"]
)
def test_a_webhook_url_that_is_not_https_fails_the_synth(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError, match=r"must be an https:// URL with a host"):
        synth(tmp_path, webhook_url=url)


def test_the_webhook_template_is_lint_clean(webhook: tuple[Any, Any, Template]) -> None:
    app, stack, _ = webhook
    path = app.synth().get_stack_by_name(stack.stack_name).template_full_path
    linted = run([str(CFN_LINT), path])
    assert linted.returncode == 0, linted.stdout + linted.stderr
    if not CHECKOV.exists():
        pytest.fail(f"checkov is missing at {CHECKOV}: `make test` installs it")
    options = ["--framework", "cloudformation", "--config-file", ".checkov.yaml", "--skip-download"]
    checked = run([str(CHECKOV), "-f", path, *options])
    assert checked.returncode == 0, checked.stdout + checked.stderr
