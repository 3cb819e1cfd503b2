"""The last SubmitJob try whose answer is lost may have made the job: it is looked for before the
error is raised, or the caller (releasing its claim) lets the next delivery submit a second one."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from conveyor.bulk.arrays import SUBMIT_ATTEMPTS, ArrayJobs, array_job_name
from conveyor.submit_once import ATTEMPTS, submit_job_once


class LostAnswers:
    """A Batch whose every SubmitJob answer is a 500; only the last try is in fact applied."""

    def __init__(self, applied_on: int) -> None:
        self.applied_on = applied_on
        self.tries = 0
        self.jobs: list[dict[str, Any]] = []
        self.meta = Meta()

    def submit_job(self, **request: Any) -> dict[str, Any]:
        self.tries += 1
        if self.tries == self.applied_on:
            self.jobs.append(
                {"jobId": "made-on-last-try", "jobName": request["jobName"], "createdAt": 10**13}
            )
        raise ClientError(
            {"Error": {"Code": "InternalError"}, "ResponseMetadata": {"HTTPStatusCode": 500}},
            "SubmitJob",
        )

    def get_paginator(self, name: str) -> Any:
        assert name == "list_jobs"
        return self

    def paginate(self, **_: Any) -> list[dict[str, Any]]:
        return [{"jobSummaryList": list(self.jobs)}]


class Meta:
    """What `conveyor.aws.never_retried` registers its handler on."""

    class service_model:
        class service_id:
            @staticmethod
            def hyphenize() -> str:
                return "batch"

    class events:
        @staticmethod
        def register_first(*_: Any, **__: Any) -> None:
            pass


def test_a_job_made_by_the_last_unanswered_try_is_found() -> None:
    batch = LostAnswers(applied_on=ATTEMPTS)

    found = submit_job_once(batch, sleep=lambda _: None, jobName="j", jobQueue="q")

    assert found == {"jobId": "made-on-last-try", "jobName": "j", "found": True}
    assert batch.tries == ATTEMPTS


def test_when_no_try_made_the_job_the_last_error_is_raised() -> None:
    batch = LostAnswers(applied_on=0)

    with pytest.raises(ClientError):
        submit_job_once(batch, sleep=lambda _: None, jobName="j", jobQueue="q")
    assert batch.tries == ATTEMPTS


def test_an_array_made_by_the_last_unanswered_try_is_found() -> None:
    batch = LostAnswers(applied_on=SUBMIT_ATTEMPTS)
    jobs = ArrayJobs(batch, sleep=lambda _: None)

    submitted = jobs.submit("b1", 3, "s3://archive/.conveyor/manifests/b1.jsonl", "q", "d")

    assert submitted.job_id == "made-on-last-try"
    assert submitted.job_name == array_job_name("b1")
    assert batch.tries == SUBMIT_ATTEMPTS
