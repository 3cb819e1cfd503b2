"""SubmitJob whose answer was lost makes one job, not two: botocore's retry would submit again,
so conveyor.submit_once looks for the job by its name before trying again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conveyor.aws import client
from conveyor.events.s3 import parse_body
from conveyor.jobs import JobSpec
from conveyor.ledger.store import Ledger
from conveyor.submission import submit
from conveyor.submit_once import find_submitted
from conveyor_local.faults import FaultProxy, LoseResponse, Request, fault_proxy
from tests.conftest import Stack
from tests.integration.test_trigger import COPY_EVERYTHING, jobs_by_key
from trigger_lambda.config import TriggerConfig
from trigger_lambda.service import Outcome, Trigger


def is_submit(r: Request) -> bool:
    return r.operation == "SubmitJob"


@pytest.fixture
def proxy(moto_endpoint: str) -> Iterator[FaultProxy]:
    with fault_proxy(moto_endpoint) as running:
        yield running


def test_trigger_submit_whose_answer_was_lost_makes_one_job(
    stack: Stack, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVEYOR_ROUTES", COPY_EVERYTHING)
    batch = client("batch", endpoint_url=proxy.url)
    trigger = Trigger(
        config=TriggerConfig.from_env(),
        ledger=Ledger(client("dynamodb"), stack.settings["CONVEYOR_LEDGER_TABLE"]),
        batch=batch,
        s3=stack.s3,
    )
    lost = proxy.add(LoseResponse("SubmitJob", is_submit, times=2))
    stack.s3.put_object(Bucket=stack.staging, Key="lost/submit.txt", Body=b"s")
    [message] = stack.receive_all(expected=1)

    assert trigger.handle_message(parse_body(message["Body"])) == [Outcome.SUBMITTED]

    assert isinstance(lost, LoseResponse) and lost.fired == 1  # found, not tried again
    [job] = jobs_by_key(stack)["lost/submit.txt"]
    [item] = trigger.ledger.versions_of(stack.staging, "lost/submit.txt")
    assert (item["status"], item["job_id"]) == ("SUBMITTED", job["jobId"])
    assert proxy.calls("batch", "SubmitJob") == 1


def test_a_resubmission_never_adopts_the_job_it_replaces(stack: Stack, proxy: FaultProxy) -> None:
    """The failed job has the same name: a lost answer must not make it pass for the new one."""
    stack.s3.put_object(Bucket=stack.staging, Key="lost/again.txt", Body=b"a")
    [message] = stack.receive_all(expected=1)
    [version] = parse_body(message["Body"]).versions
    spec = JobSpec(version, "copy")
    queue = stack.settings["CONVEYOR_JOB_QUEUE"]
    definition = stack.settings["CONVEYOR_JOB_DEFINITION"]
    ledger = Ledger(client("dynamodb"), stack.settings["CONVEYOR_LEDGER_TABLE"])
    first = submit(stack.batch, ledger, spec, job_queue=queue, job_definition=definition)
    proxy.add(LoseResponse("SubmitJob", is_submit))

    second = submit(
        client("batch", endpoint_url=proxy.url),
        ledger,
        spec,
        job_queue=queue,
        job_definition=definition,
        replaces=first,
    )

    jobs = {j["jobId"] for j in jobs_by_key(stack)["lost/again.txt"]}
    assert second != first and jobs == {first, second}
    assert find_submitted(stack.batch, queue, spec.name, since=0, known={first}) == second
