"""The job definition tells the worker its timeout, so its presigned reads expire with the job
(issue 11, point 8). Its own synth: a job timeout other than the default."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")  # node 20 here

import aws_cdk as cdk
from aws_cdk.assertions import Template

from conveyor import settings
from infra.app import build


def test_the_worker_is_told_its_job_timeout(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path), context={"job_timeout_hours": "2"})
    _, stack = build(app)
    [definition] = Template.from_stack(stack).find_resources("AWS::Batch::JobDefinition").values()
    props = definition["Properties"]
    environment = {e["Name"]: e["Value"] for e in props["ContainerProperties"]["Environment"]}
    assert props["Timeout"]["AttemptDurationSeconds"] == 7200
    assert environment[settings.JOB_TIMEOUT] == "7200"
