"""The CDK stack, synthesized offline: each requirement of the deployment, cdk-nag, IAM scope."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")  # node 20 here

import aws_cdk as cdk
from aws_cdk.assertions import Annotations, Match, Template

from conveyor import settings
from conveyor.jobs import COMMAND, ENTRYPOINT
from conveyor.settings import output_name
from infra.app import build
from infra.functions import PACKAGES

ROOT = Path(__file__).resolve().parents[2]
ROUTES = json.dumps([{"match": "*.txt", "transform": "gzip"}])


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Template]:
    outdir = tmp_path_factory.mktemp("cdk.out")
    context = {"alarm_email": "ops@example.com", "routes": ROUTES}
    _, stack = build(cdk.App(outdir=str(outdir), context=context))
    return stack, Template.from_stack(stack)


def resources(template: Template, kind: str) -> dict[str, Any]:
    return template.find_resources(kind)


def test_buckets(synthesized: tuple[Any, Template]) -> None:
    _, template = synthesized
    buckets = resources(template, "AWS::S3::Bucket")
    assert len(buckets) == 6  # staging, archive, output, access logs, the page, its request logs
    for bucket in buckets.values():
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert "BucketEncryption" in props
        assert bucket["DeletionPolicy"] == "Retain"  # retention explicit: data is kept
    versioned = [b for b in buckets.values() if b["Properties"].get("VersioningConfiguration")]
    assert len(versioned) == 4  # staging, archive, output, the page (CORS etc.: test_access.py)
    logged = [b for b in buckets.values() if "LoggingConfiguration" in b["Properties"]]
    assert len(logged) == 5
    [staging] = [p["Properties"] for n, p in buckets.items() if n.startswith("StorageStaging")]
    assert staging["LifecycleConfiguration"]["Rules"][0]["AbortIncompleteMultipartUpload"] == {
        "DaysAfterInitiation": 1
    }
    # TLS only: every bucket policy denies non-SSL requests.
    for policy in resources(template, "AWS::S3::BucketPolicy").values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        )


def test_notification_queue_dlq_and_trigger(synthesized: tuple[Any, Template]) -> None:
    _, template = synthesized
    template.has_resource_properties(
        "Custom::S3BucketNotifications",
        {
            "NotificationConfiguration": {
                "QueueConfigurations": [Match.object_like({"Events": ["s3:ObjectCreated:*"]})]
            }
        },
    )
    template.has_resource_properties(
        "AWS::SQS::Queue",
        {"RedrivePolicy": Match.object_like({"maxReceiveCount": 5})},
    )
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "BatchSize": 10,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "ScalingConfig": {"MaximumConcurrency": 5},
        },
    )
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {"Handler": "trigger_lambda.handler.handler", "ReservedConcurrentExecutions": 5},
    )


def test_ledger(synthesized: tuple[Any, Template]) -> None:
    _, template = synthesized
    [table] = resources(template, "AWS::DynamoDB::GlobalTable").values()
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["Replicas"][0]["PointInTimeRecoverySpecification"] == {
        "PointInTimeRecoveryEnabled": True
    }
    assert {i["IndexName"] for i in props["GlobalSecondaryIndexes"]} == {
        "by_status",
        "by_bucket",
        "by_job",
    }


def test_batch(synthesized: tuple[Any, Template]) -> None:
    _, template = synthesized
    assert resources(template, "AWS::EC2::NatGateway") == {}
    endpoints = resources(template, "AWS::EC2::VPCEndpoint").values()
    assert any("s3" in str(e["Properties"]["ServiceName"]) for e in endpoints)
    environments = [
        e["Properties"] for e in resources(template, "AWS::Batch::ComputeEnvironment").values()
    ]
    kinds = {e["ComputeResources"]["Type"]: e["ComputeResources"] for e in environments}
    assert kinds["SPOT"]["AllocationStrategy"] == "SPOT_PRICE_CAPACITY_OPTIMIZED"
    assert kinds["EC2"]["AllocationStrategy"] == "BEST_FIT_PROGRESSIVE"
    [queue] = resources(template, "AWS::Batch::JobQueue").values()
    order = sorted(queue["Properties"]["ComputeEnvironmentOrder"], key=lambda o: o["Order"])
    assert len(order) == 2
    [definition] = resources(template, "AWS::Batch::JobDefinition").values()
    props = definition["Properties"]
    container = props["ContainerProperties"]
    assert container["Command"] == list(COMMAND)
    assert all(f"Ref::{p}" in container["Command"] for p in props["Parameters"])
    assert props["Timeout"]["AttemptDurationSeconds"] == 12 * 3600
    retry = props["RetryStrategy"]
    assert retry["Attempts"] == 3
    rules = retry["EvaluateOnExit"]
    assert {"Action": "RETRY", "OnStatusReason": "Host EC2*"} in rules
    assert {"Action": "RETRY", "OnExitCode": "75"} in rules
    assert rules[-1] == {"Action": "EXIT", "OnReason": "*"}
    assert "Image" in container and "JobRoleArn" in container
    # ECS-on-EC2 gives botocore no region: the job definition names it.
    environment = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert environment["AWS_REGION"] == environment["AWS_DEFAULT_REGION"] == {"Ref": "AWS::Region"}


def test_completion_rule_and_alarms(synthesized: tuple[Any, Template]) -> None:
    _, template = synthesized
    rules = [r["Properties"] for r in resources(template, "AWS::Events::Rule").values()]
    completion = next(r for r in rules if r.get("Targets") and "EventPattern" in r)
    assert completion["EventPattern"]["source"] == ["aws.batch"]
    assert completion["EventPattern"]["detail-type"] == ["Batch Job State Change"]
    assert "jobQueue" in completion["EventPattern"]["detail"]
    assert "DeadLetterConfig" in completion["Targets"][0]
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    assert len(alarms) == 5  # the two DLQs, trigger errors, failed jobs, work stuck
    template.has_resource_properties("AWS::SNS::Subscription", {"Protocol": "email"})
    for group in resources(template, "AWS::Logs::LogGroup").values():
        assert group["Properties"]["RetentionInDays"] == 30


def function_named(template: Template, handler: str) -> str:
    """The logical id of the Lambda function with this handler."""
    functions = resources(template, "AWS::Lambda::Function")
    [name] = [n for n, f in functions.items() if f["Properties"].get("Handler") == handler]
    return name


def role_statements(template: Template, function: str) -> list[dict[str, Any]]:
    """Every statement of every policy attached to the function's role."""
    role = resources(template, "AWS::Lambda::Function")[function]["Properties"]["Role"]
    role_ref = {"Ref": role["Fn::GetAtt"][0]}
    return [
        statement
        for policy in resources(template, "AWS::IAM::Policy").values()
        if role_ref in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def actions_of(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else actions


def test_failed_completions_go_to_a_queue_with_an_alarm(synthesized: tuple[Any, Template]) -> None:
    _, template = synthesized
    completion = function_named(template, "completion_lambda.handler.handler")
    [config] = [
        c["Properties"]
        for c in resources(template, "AWS::Lambda::EventInvokeConfig").values()
        if c["Properties"]["FunctionName"] == {"Ref": completion}
    ]
    assert config["MaximumRetryAttempts"] == 2
    queue_arn = config["DestinationConfig"]["OnFailure"]["Destination"]
    queue = queue_arn["Fn::GetAtt"][0]
    assert resources(template, "AWS::SQS::Queue")[queue]["Properties"]["SqsManagedSseEnabled"]
    assert any(
        "sqs:SendMessage" in actions_of(s) and s["Resource"] == queue_arn
        for s in role_statements(template, completion)
    )
    [alarm] = [
        a["Properties"]
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
        if {"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}
        in a["Properties"].get("Dimensions", [])
    ]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Threshold"] == 0 and alarm["AlarmActions"]


def test_reconcile_runs_every_15_minutes_with_only_what_it_needs(
    synthesized: tuple[Any, Template],
) -> None:
    _, template = synthesized
    reconcile = function_named(template, "completion_lambda.reconcile.handler")
    [schedule] = [
        r["Properties"]
        for r in resources(template, "AWS::Events::Rule").values()
        if "ScheduleExpression" in r["Properties"]
    ]
    assert schedule["ScheduleExpression"] == "rate(15 minutes)"
    assert [t["Arn"] for t in schedule["Targets"]] == [{"Fn::GetAtt": [reconcile, "Arn"]}]
    granted = {
        action: statement["Resource"]
        for statement in role_statements(template, reconcile)
        for action in actions_of(statement)
        if not action.startswith("logs:")
    }
    [table] = resources(template, "AWS::DynamoDB::GlobalTable")
    table_arn = {"Fn::GetAtt": [table, "Arn"]}
    assert granted == {
        "dynamodb:Query": {"Fn::Join": ["", [table_arn, "/index/by_status"]]},
        "dynamodb:GetItem": table_arn,
        "dynamodb:PutItem": table_arn,
        "dynamodb:UpdateItem": table_arn,
        "batch:DescribeJobs": "*",
        "events:PutEvents": {  # announcing an entry it ends: the default bus only
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
        },
    }
    environment = resources(template, "AWS::Lambda::Function")[reconcile]["Properties"]
    assert "CONVEYOR_LEDGER_TABLE" in environment["Environment"]["Variables"]


def test_lambda_code_is_the_handlers_packages_only(synthesized: tuple[Any, Template]) -> None:
    stack, template = synthesized
    outdir = Path(stack.node.root.outdir)
    functions = [  # not CDK's own handlers (`index.handler`: the page deployment's)
        f
        for f in resources(template, "AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] != "index.handler"
    ]
    keys = {
        f["Properties"]["Code"]["S3Key"] for f in functions if "S3Key" in f["Properties"]["Code"]
    }
    assert len(keys) == 1  # the handlers share one asset
    asset = outdir / f"asset.{keys.pop().removesuffix('.zip')}"
    files = {p.relative_to(asset).as_posix() for p in asset.rglob("*") if p.is_file()}
    expected = {
        "trigger_lambda/handler.py",
        "completion_lambda/handler.py",
        "web_api/handler.py",
        "conveyor/ledger/store.py",
    }
    assert expected <= files
    assert PACKAGES == ("conveyor", "trigger_lambda", "completion_lambda", "web_api")
    assert {f.split("/")[0] for f in files} == set(PACKAGES)
    # Nothing of the faces, the worker, the CDK app, the tests or caches: the packages' code only.
    others = (
        "conveyor_cli",
        "conveyor_local",
        "batch_job",
        "infra",
        "tests",
        "bench",
        "requirements",
    )
    assert not [f for f in files if f.split("/")[0] in others]
    sources = {
        p.relative_to(ROOT).as_posix()
        for package in PACKAGES
        for p in (ROOT / package).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert files == sources
    handlers = {f["Properties"]["Handler"] for f in functions if "S3Key" in f["Properties"]["Code"]}
    assert handlers == {
        "trigger_lambda.handler.handler",
        "completion_lambda.handler.handler",
        "completion_lambda.reconcile.handler",
        "web_api.handler.handler",
    }


def test_outputs_carry_every_setting(synthesized: tuple[Any, Template]) -> None:
    _, template = synthesized
    outputs = template.find_outputs("*")
    assert {output_name(s) for s in settings.ALL} <= set(outputs)
    assert outputs[output_name(settings.ROUTES)]["Value"] == ROUTES  # the CLI routes as the trigger
    # Only the trigger routes: a job carries its route's choices, so the worker never reads them.
    [definition] = resources(template, "AWS::Batch::JobDefinition").values()
    env = definition["Properties"]["ContainerProperties"]["Environment"]
    assert settings.ROUTES not in {e["Name"] for e in env}


def test_cdk_nag_has_no_unsuppressed_errors(synthesized: tuple[Any, Template]) -> None:
    stack, _ = synthesized
    errors = Annotations.from_stack(stack).find_error(
        "*", Match.string_like_regexp("AwsSolutions-.*")
    )
    assert errors == [], [f"{e.id}: {e.entry.data}" for e in errors]


def test_a_renamed_stack_passes_cdk_nag_too(tmp_path: Path) -> None:
    _, stack = build(cdk.App(outdir=str(tmp_path), context={"stack_name": "MediaPipeline"}))
    assert stack.stack_name == "MediaPipeline"
    errors = Annotations.from_stack(stack).find_error(
        "*", Match.string_like_regexp("AwsSolutions-.*")
    )
    assert errors == [], [f"{e.id}: {e.entry.data}" for e in errors]


def test_no_s3_action_on_every_resource(synthesized: tuple[Any, Template]) -> None:
    _, template = synthesized
    offending = []
    for kind in ("AWS::IAM::Policy", "AWS::IAM::Role", "AWS::IAM::ManagedPolicy"):
        for name, resource in resources(template, kind).items():
            props = resource["Properties"]
            documents = [props.get("PolicyDocument")] + [
                p["PolicyDocument"] for p in props.get("Policies", [])
            ]
            for document in filter(None, documents):
                for statement in document["Statement"]:
                    actions = statement.get("Action", [])
                    actions = [actions] if isinstance(actions, str) else actions
                    targets = statement.get("Resource", [])
                    targets = [targets] if not isinstance(targets, list) else targets
                    if any(str(a).startswith("s3:") for a in actions) and "*" in targets:
                        offending.append(name)
    assert offending == []


def logical_lines(text: str) -> list[str]:
    """A Dockerfile's instructions, continuation lines joined, comments left out."""
    lines = re.sub(r"\s*\\\n\s*", " ", text).splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def test_dockerfile_is_lint_clean_and_installs_what_make_installs() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    done = subprocess.run([str(hadolint), str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    dockerfile = (ROOT / "Dockerfile").read_text()
    lines = logical_lines(dockerfile)
    # The base image by tag (to read) and digest (what is pulled): two builds get the same base.
    froms = [line for line in lines if line.startswith("FROM ")]
    assert froms and all(re.fullmatch(r"FROM \S+:\S+@sha256:[0-9a-f]{64}", f) for f in froms), froms
    # The Debian packages are listed once, in requirements/apt.txt, which both `make` and the
    # image install (hadolint does not see through xargs: the flags are checked here).
    packages = (ROOT / "requirements" / "apt.txt").read_text().split()
    assert packages
    assert re.search(
        r"^APT_PACKAGES := .*requirements/apt\.txt", (ROOT / "Makefile").read_text(), re.M
    )
    make = subprocess.run(
        ["make", "-s", "--no-print-directory", "--eval", "apt: ; @echo $(APT_PACKAGES)", "apt"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert make.returncode == 0, make.stderr
    assert make.stdout.split() == packages
    installs = [line for line in lines if "apt-get install" in line]
    assert len(installs) == 1 and dockerfile.count("apt-get install") == 1, installs
    assert re.search(
        r"&& xargs --arg-file=requirements/apt\.txt apt-get install -y --no-install-recommends &&",
        installs[0],
    ), installs
    # Only the worker's locked dependencies, every one checked against its hashes; the project
    # itself is not installed: its two packages are copied, nothing else of the repository.
    pips = [re.search(r"pip install ([^&]+)", line) for line in lines]
    pips = [m.group(1).split() for m in pips if m]
    assert len(pips) == 1 and "--require-hashes" in pips[0], pips
    assert [a for a in pips[0] if not a.startswith("-")] == ["requirements/worker.txt"], pips
    assert "-r" in pips[0]
    copied = [s for line in lines if line.startswith(("COPY ", "ADD ")) for s in line.split()[1:-1]]
    assert sorted(copied) == [
        "batch_job",
        "conveyor",
        "requirements/apt.txt",
        "requirements/worker.txt",
    ]
    assert any(line.startswith("ENV ") and "PYTHONPATH=" in line for line in lines)
    assert f"ENTRYPOINT {json.dumps(list(ENTRYPOINT))}" in lines


def test_the_image_is_built_from_the_workers_files_only(synthesized: tuple[Any, Template]) -> None:
    stack, _ = synthesized
    outdir = Path(stack.node.root.outdir)
    manifest = json.loads((outdir / f"{stack.stack_name}.assets.json").read_text())
    (image,) = manifest["dockerImages"].values()
    context = outdir / image["source"]["directory"]
    files = {p.relative_to(context).as_posix() for p in context.rglob("*") if p.is_file()}
    tops = {f.split("/")[0] for f in files}
    assert tops == {"Dockerfile", ".dockerignore", "requirements", "conveyor", "batch_job"}
    assert {f for f in files if f.startswith("requirements/")} == {
        "requirements/apt.txt",
        "requirements/worker.txt",
    }
    assert "batch_job/__main__.py" in files and "conveyor/jobs.py" in files
    assert not [f for f in files if "__pycache__" in f]
