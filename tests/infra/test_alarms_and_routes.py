"""Issue 11, points 1 and 2, against the synthesized template: alarms that reach a person, and
the queues and definitions routes name are usable (IAM) and heard (EventBridge)."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")  # node 20 here

import aws_cdk as cdk
from aws_cdk.assertions import Annotations, Match, Template

from conveyor.errors import ConfigError
from infra.app import build
from infra.stack import ConveyorStack

OTHER_QUEUE_ARN = "arn:aws:batch:us-east-1:111111111111:job-queue/conveyor-gpu"
ROUTES = [
    {"match": "big/*", "transform": "h264-1080p", "job_queue": "conveyor-big"},
    {"match": "gpu/*", "transform": "h264-1080p", "job_queue": OTHER_QUEUE_ARN},
    {"match": "custom/*", "transform": "copy", "job_definition": "conveyor-custom"},
    {"match": "pinned/*", "transform": "copy", "job_definition": "conveyor-pinned:3"},
]


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> tuple[cdk.Stack, Template]:
    """No `alarm_email`: the stack must still deploy, topic and all."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    context = {"routes": json.dumps(ROUTES)}
    _, stack = build(cdk.App(outdir=str(outdir), context=context))
    return stack, Template.from_stack(stack)


def only(template: Template, kind: str) -> dict[str, Any]:
    return template.find_resources(kind)


def alarm_named(template: Template, words: str) -> dict[str, Any]:
    """The one alarm whose description contains `words`."""
    [alarm] = [
        a["Properties"]
        for a in only(template, "AWS::CloudWatch::Alarm").values()
        if words in a["Properties"]["AlarmDescription"]
    ]
    return alarm


def test_the_topic_key_is_ours_and_its_publishers_may_use_it(
    synthesized: tuple[cdk.Stack, Template],
) -> None:
    stack, template = synthesized
    [(topic_id, topic)] = only(template, "AWS::SNS::Topic").items()
    key_ref = topic["Properties"]["KmsMasterKeyId"]
    assert "alias/aws/sns" not in json.dumps(key_ref)
    [(key_id, key)] = only(template, "AWS::KMS::Key").items()
    assert key_ref == {"Fn::GetAtt": [key_id, "Arn"]}
    assert key["Properties"]["EnableKeyRotation"] is True
    granted = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s["Effect"] == "Allow" and "Service" in s["Principal"]
    ]
    services = {p for s in granted for p in s["Principal"]["Service"]}
    assert {"cloudwatch.amazonaws.com", "events.amazonaws.com"} <= services
    assert all({"kms:Decrypt", "kms:GenerateDataKey*"} <= set(s["Action"]) for s in granted)
    # No subscription without alarm_email; the topic's ARN is an output to subscribe to later.
    assert not only(template, "AWS::SNS::Subscription")
    outputs = template.find_outputs("*")
    assert any(o["Value"] == {"Ref": topic_id} for o in outputs.values())
    assert not Annotations.from_stack(stack).find_error("*", Match.any_value())


def test_every_alarm_notifies_the_topic(synthesized: tuple[cdk.Stack, Template]) -> None:
    _, template = synthesized
    [topic_id] = only(template, "AWS::SNS::Topic")
    alarms = only(template, "AWS::CloudWatch::Alarm").values()
    assert len(alarms) == 5  # two DLQs, trigger errors, failed jobs, work stuck
    for alarm in alarms:
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]


def test_trigger_errors_alarm(synthesized: tuple[cdk.Stack, Template]) -> None:
    _, template = synthesized
    alarm = alarm_named(template, "trigger Lambda failed")
    functions = only(template, "AWS::Lambda::Function")
    [trigger] = [
        n for n, f in functions.items() if f["Properties"]["Handler"].startswith("trigger")
    ]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Lambda", "Errors")
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": trigger}}]
    assert alarm["Threshold"] == 0


def test_failed_jobs_reach_the_topic_as_one_line_and_the_alarm_has_a_metric(
    synthesized: tuple[cdk.Stack, Template],
) -> None:
    _, template = synthesized
    [topic_id] = only(template, "AWS::SNS::Topic")
    [(rule_id, rule)] = [
        (n, r["Properties"])
        for n, r in only(template, "AWS::Events::Rule").items()
        if r["Properties"].get("EventPattern", {}).get("detail", {}).get("status") == ["FAILED"]
    ]
    [target] = rule["Targets"]
    assert target["Arn"] == {"Ref": topic_id}
    transformer = target["InputTransformer"]
    paths = transformer["InputPathsMap"]
    assert {paths[k] for k in paths} >= {
        "$.detail.parameters.key",
        "$.detail.jobId",
        "$.detail.statusReason",
    }
    line = json.loads(transformer["InputTemplate"])
    assert "\n" not in line and line.startswith("Conveyor job failed: ")
    for name, path in paths.items():
        assert f"<{name}>" in line, path
    [policy] = only(template, "AWS::SNS::TopicPolicy").values()
    allowed = [
        s["Principal"]["Service"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow" and s["Action"] == "sns:Publish"
    ]
    # EventBridge (the failed jobs' line) and CloudWatch (alarms) may publish.
    assert {"events.amazonaws.com", "cloudwatch.amazonaws.com"} <= set(allowed)
    alarm = alarm_named(template, "jobs failed")
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Events", "TriggeredRules")
    assert alarm["Dimensions"] == [{"Name": "RuleName", "Value": {"Ref": rule_id}}]


def test_work_stuck_alarm_reads_reconciles_metric(synthesized: tuple[cdk.Stack, Template]) -> None:
    _, template = synthesized
    alarm = alarm_named(template, "in flight")
    assert (alarm["Namespace"], alarm["MetricName"]) == ("Conveyor", "OldestInFlightSeconds")
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "conveyor-reconcile"}]
    assert alarm["Statistic"] == "Maximum"
    assert alarm["Threshold"] == 13 * 3600  # the 12 h job timeout and an hour


def queue_arn(name: str) -> dict[str, Any]:
    return {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":batch:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                f":{name}",
            ],
        ]
    }


def test_the_trigger_may_submit_to_every_queue_and_definition_routes_name(
    synthesized: tuple[cdk.Stack, Template],
) -> None:
    _, template = synthesized
    # The trigger's, and the web API's (its retries resubmit where the first job went).
    trigger, web_api = [
        s
        for p in only(template, "AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "batch:SubmitJob"
    ]
    assert trigger["Resource"] == web_api["Resource"]
    resources = trigger["Resource"]
    [own_queue] = only(template, "AWS::Batch::JobQueue")
    for expected in (
        {"Fn::GetAtt": [own_queue, "JobQueueArn"]},
        queue_arn("job-queue/conveyor-big"),
        OTHER_QUEUE_ARN,
        queue_arn("job-definition/conveyor-custom"),
        queue_arn("job-definition/conveyor-custom:*"),
        queue_arn("job-definition/conveyor-pinned:3"),
    ):
        assert expected in resources, expected
    assert queue_arn("job-definition/conveyor-pinned:3:*") not in resources
    assert len(resources) == 8  # the stack's queue and its definition (name, name:*), and these


def test_the_state_change_rules_hear_every_queue_routes_name(
    synthesized: tuple[cdk.Stack, Template],
) -> None:
    _, template = synthesized
    [own_queue] = only(template, "AWS::Batch::JobQueue")
    patterns = [
        r["Properties"]["EventPattern"]
        for r in only(template, "AWS::Events::Rule").values()
        if r["Properties"].get("EventPattern", {}).get("source") == ["aws.batch"]
    ]
    assert len(patterns) == 2  # the completion Lambda's rule, the failed jobs' rule
    for pattern in patterns:
        assert pattern["detail"]["jobQueue"] == [
            {"Fn::GetAtt": [own_queue, "JobQueueArn"]},
            queue_arn("job-queue/conveyor-big"),
            OTHER_QUEUE_ARN,
        ]


def synth(routes: list[dict[str, Any]], env: cdk.Environment | None = None) -> None:
    app = cdk.App(context={"routes": json.dumps(routes)})
    ConveyorStack(app, "Conveyor", env=env)


def test_a_queue_in_another_region_fails_the_synth_naming_the_route() -> None:
    routes = [{"match": "*.txt", "transform": "gzip"}, {"match": "gpu/*", **ROUTES[1]}]
    with pytest.raises(ConfigError, match=r"routes rule 2 \(gpu/\*\).*region us-east-1"):
        synth(routes, cdk.Environment(account="111111111111", region="eu-west-1"))


def test_a_queue_in_another_account_fails_the_synth_naming_the_route() -> None:
    with pytest.raises(ConfigError, match=r"routes rule 1 \(gpu/\*\).*account 111111111111"):
        synth([ROUTES[1]], cdk.Environment(account="222222222222", region="us-east-1"))


def test_an_arn_of_something_else_fails_the_synth_naming_the_route() -> None:
    route = {"match": "x/*", "transform": "copy", "job_definition": "arn:aws:s3:::a-bucket"}
    with pytest.raises(ConfigError, match=r"routes rule 1 \(x/\*\).*not a Batch job-definition"):
        synth([route])
