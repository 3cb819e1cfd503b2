"""Property tests of the ledger's rules (issue 13): whatever order and however often a version's
state changes arrive, folding them with `transitions.apply` ends in the entry the in-order fold
ends in, and a job that has ended never runs again.

A history is what Batch, the trigger and the worker really say of one version: job A (SUBMITTED by
the trigger, then Batch's PENDING, RUNNABLE, STARTING, RUNNING, maybe more attempts after exit 75
or a reclaimed Spot host, then SUCCEEDED or FAILED, or cancelled before it ran), maybe resubmitted
as job B (and C) after it FAILED, and maybe the worker's SUPERSEDED verdict before Batch's
SUCCEEDED. Batch's changes are built as EventBridge delivers them and go through the events'
parser. Delivery may reorder and repeat anything, within what causality allows:

- a resubmission exists only once the ledger says FAILED (`Ledger.begin_retry`), so every change
  of job N+1 comes after the first FAILED of job N (late copies of job N's may come any time);
- the worker writes its verdict before it exits, so before Batch can say the job SUCCEEDED.

What must converge: every field but `updated_at`, `created_at`, `revision` and `history` (those
say when and how often the entry changed, which depends on arrival order by nature; the history
must still end with the change that decided the final status).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from conveyor.events.batch import DETAIL_TYPE, JobStateChange, parse_job_state_change
from conveyor.jobs import child_job_id, retried
from conveyor.ledger.transitions import apply
from conveyor.status import TERMINAL, Status

VERDICT_REASON = "a newer upload of this key owns the output"
BATCH_DONE = "Essential container in task exited"
RECLAIMED = "Host EC2 (instance i-0a1b2c3d4e5f67890) terminated."
QUEUE = "arn:aws:batch:eu-west-1:123456789012:job-queue/conveyor"
DEFINITION = "arn:aws:batch:eu-west-1:123456789012:job-definition/conveyor-worker:1"
VERSION = {
    "bucket": "staging",
    "key": "videos/a b.mov",
    "version_id": "3HL4kqtJlcpXroDTDmJ",
    "etag": "d41d8cd98f00b204e9800998ecf8427e",
    "size": "1234",
    "sequencer": "0055AED6DCD90281E5",
    "manifest": "",
}
IGNORED = frozenset({"updated_at", "created_at", "revision", "history"})
"""Fields that record when and how often the entry changed: they depend on arrival order."""
RUNS = (Status.PENDING, Status.RUNNABLE, Status.STARTING, Status.RUNNING)
RANK_OF = {status: rank for rank, status in enumerate((Status.SUBMITTED, *RUNS))}


@dataclass(frozen=True)
class Attempt:
    """How far one attempt got, and how it ended."""

    reached: Status
    """The last state Batch reported for it (RUNNING when the container ran)."""
    exit_code: int | None
    reason: str


@dataclass(frozen=True)
class History:
    jobs: tuple[str, ...]
    """Job ids, oldest first; each but the last FAILED and was resubmitted."""
    changes: tuple[tuple[int, JobStateChange], ...]
    """Every change in the order it happened, with the index of its job."""


# --- strategies --------------------------------------------------------------------------------

job_ids = st.one_of(
    st.uuids().map(str),
    st.builds(child_job_id, st.uuids().map(str), st.integers(0, 9_999)),
)
"""Ordinary job ids, and array children's "<parent>:<index>": the rules treat both alike."""


@st.composite
def attempts(draw: st.DrawFn, last_job: bool) -> tuple[list[Attempt], Status]:
    """A job's attempts as the job definition's retry strategy plays them out, and its end.
    Only the newest job may succeed: a resubmission follows a FAILED job."""
    done: list[Attempt] = []
    number = 1
    while True:
        if draw(st.integers(0, 4)) == 0:  # cancelled, or timed out in the queue, before it ran
            waiting = (Status.PENDING, Status.RUNNABLE) if number == 1 else (Status.RUNNABLE,)
            done.append(Attempt(draw(st.sampled_from(waiting)), None, "Job cancelled"))
            return done, Status.FAILED
        if draw(st.integers(0, 3)) == 0:
            exit_code, reason = None, RECLAIMED
        else:
            choices = [0, 0, 0, 75, 65, 1] if last_job else [75, 65, 1]
            exit_code, reason = draw(st.sampled_from(choices)), BATCH_DONE
        done.append(Attempt(Status.RUNNING, exit_code, reason))
        if not retried(exit_code, reason, number):
            return done, Status.SUCCEEDED if exit_code == 0 else Status.FAILED
        number += 1


@st.composite
def histories(draw: st.DrawFn) -> History:
    """One version's whole story, in the order it happened."""
    count = draw(st.integers(1, 3))
    ids = draw(st.lists(job_ids, min_size=count, max_size=count, unique=True))
    created = 1_795_694_400_000
    changes: list[tuple[int, JobStateChange]] = []
    for index, job_id in enumerate(ids):
        last = index == count - 1
        runs, end = draw(attempts(last_job=last))
        verdict = last and end is Status.SUCCEEDED and draw(st.booleans())
        skew = draw(st.integers(-500, 500))  # the trigger's clock against Batch's createdAt
        params = {
            **VERSION,
            "transform": draw(st.sampled_from(["copy", "gzip", "h264-720p"])),
            "output_key": f"out/{index}/a b.mov",
            "argv": "",
        }
        job = Job(job_id, f"name-{index}", params, created)
        story = job.story(runs, end, verdict, created + skew)
        changes += [(index, change) for change in story]
        created += draw(st.integers(2_000, 3_600_000))  # resubmitted after it FAILED
    return History(tuple(ids), tuple(changes))


@dataclass(frozen=True)
class Job:
    """One Batch job of the version: the changes it produces, built as their sources build them."""

    job_id: str
    name: str
    parameters: Mapping[str, str]
    created: int

    def story(
        self, runs: list[Attempt], end: Status, verdict: bool, submitted_at: int
    ) -> list[JobStateChange]:
        submitted = JobStateChange(  # what conveyor.submission records
            job_id=self.job_id,
            status=Status.SUBMITTED,
            parameters=self.parameters,
            job_name=self.name,
            job_queue=QUEUE,
            job_definition=DEFINITION,
            created_at=submitted_at,
            status_reason="resubmitted" if self.name != "name-0" else "",
        )
        story = [submitted]
        finished: list[dict[str, Any]] = []
        clock = self.created
        for number, attempt in enumerate(runs, start=1):
            states = RUNS[RUNS.index(Status.PENDING if number == 1 else Status.RUNNABLE) :]
            stream = f"conveyor-worker/default/{self.job_id}-{number}"
            for state in states[: states.index(attempt.reached) + 1]:
                clock += 1_000
                running = state in (Status.STARTING, Status.RUNNING)
                container = {"logStreamName": stream} if running else {}
                started = clock if state is Status.RUNNING else None
                story.append(self.change(state, finished, container, started=started))
            if attempt.reached is Status.RUNNING:
                clock += 60_000
                container = {"logStreamName": stream}
                if attempt.exit_code is not None:
                    container["exitCode"] = attempt.exit_code
                finished.append(
                    {
                        "container": container,
                        "startedAt": clock - 59_000,
                        "stoppedAt": clock,
                        "statusReason": attempt.reason,
                    }
                )
        if verdict:  # what batch_job.record.Recorder.superseded records
            story.append(
                JobStateChange(
                    job_id=self.job_id,
                    status=Status.SUPERSEDED,
                    parameters=self.parameters,
                    status_reason=VERDICT_REASON,
                    attempt=len(runs),
                )
            )
        last_run = finished[-1] if finished else {}
        story.append(
            self.change(
                end,
                finished,
                dict(last_run.get("container", {})),
                started=last_run.get("startedAt"),
                stopped=clock + 1_000,
                reason=runs[-1].reason,
            )
        )
        return story

    def change(
        self,
        status: Status,
        finished: list[dict[str, Any]],
        container: dict[str, Any],
        *,
        started: int | None = None,
        stopped: int | None = None,
        reason: str = "",
    ) -> JobStateChange:
        """A "Batch Job State Change" as EventBridge delivers it, through the events' parser."""
        detail: dict[str, Any] = {
            "jobId": self.job_id,
            "jobName": self.name,
            "jobQueue": QUEUE,
            "jobDefinition": DEFINITION,
            "status": status.value,
            "attempts": [dict(a) for a in finished],
            "createdAt": self.created,
            "parameters": dict(self.parameters),
            "container": container,
        }
        optional = {"startedAt": started, "stoppedAt": stopped, "statusReason": reason}
        detail.update({k: v for k, v in optional.items() if v})
        event = {"detail-type": DETAIL_TYPE, "source": "aws.batch", "detail": detail}
        return parse_job_state_change(event)


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[History, list[tuple[int, JobStateChange]]]:
    """A history, and its changes reordered and repeated as causality allows."""
    history = draw(histories())
    changes = list(history.changes)
    copies = draw(st.lists(st.sampled_from(changes), max_size=len(changes)))
    arrived = draw(st.permutations(changes + copies))
    return history, causal(arrived, len(history.jobs))


def causal(
    arrived: list[tuple[int, JobStateChange]], jobs: int
) -> list[tuple[int, JobStateChange]]:
    """Move what cannot have come yet to where it can: a verdict before its job's SUCCEEDED, a
    resubmitted job's changes after its predecessor's first FAILED."""
    order = list(arrived)
    for index in range(jobs):
        verdicts = [c for c in order if c[0] == index and c[1].status is Status.SUPERSEDED]
        if verdicts:
            rest = [c for c in order if not (c[0] == index and c[1].status is Status.SUPERSEDED)]
            first = next(
                i for i, c in enumerate(rest) if c[0] == index and c[1].status is Status.SUCCEEDED
            )
            order = rest[:first] + verdicts + rest[first:]
        if index + 1 < jobs:
            failed = next(
                i for i, c in enumerate(order) if c[0] == index and c[1].status is Status.FAILED
            )
            early = [c for c in order[:failed] if c[0] > index]
            order = [c for c in order[: failed + 1] if c[0] <= index] + early + order[failed + 1 :]
    return order


# --- folding ---------------------------------------------------------------------------------


def fold(changes: Iterable[JobStateChange]) -> list[dict[str, Any]]:
    """Every entry the item went through, as the ledger applies the changes one by one."""
    item: dict[str, Any] | None = None
    seen: list[dict[str, Any]] = []
    for n, change in enumerate(changes):
        item = apply(item, change, f"2026-01-01T00:00:{n % 60:02d}.{n:03d}Z") or item
        seen.append(dict(item or {}))
    return seen


def settled(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in IGNORED}


# --- properties ------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(deliveries())
def test_any_order_and_repetition_converges_to_the_in_order_entry(
    delivered: tuple[History, list[tuple[int, JobStateChange]]],
) -> None:
    history, arrived = delivered
    expected = fold(c for _, c in history.changes)[-1]
    got = fold(c for _, c in arrived)[-1]
    assert settled(got) == settled(expected)
    assert expected["job_id"] == history.jobs[-1]
    last = got["history"][-1]
    assert last["job_id"] == got["job_id"] and Status(last["status"]) in TERMINAL


@settings(max_examples=150, deadline=None)
@given(deliveries())
def test_an_ended_job_never_runs_again(
    delivered: tuple[History, list[tuple[int, JobStateChange]]],
) -> None:
    """Once the newest job's entry is SUCCEEDED or SUPERSEDED, nothing moves it; SUPERSEDED stays
    SUPERSEDED. And no change ever hands the entry back to an older job."""
    history, arrived = delivered
    newest = history.jobs[-1]
    ended: str | None = None
    job_index = -1
    for item in fold(c for _, c in arrived):
        now = history.jobs.index(item["job_id"])
        assert now >= job_index, "the entry went back to an older job"
        job_index = now
        if ended is not None:
            assert item["job_id"] == newest
            assert item["status"] == ended
        elif item["job_id"] == newest and item["status"] in ("SUCCEEDED", "SUPERSEDED"):
            ended = item["status"]


@settings(max_examples=100, deadline=None)
@given(deliveries())
def test_a_job_never_goes_back_to_an_earlier_attempt_or_state(
    delivered: tuple[History, list[tuple[int, JobStateChange]]],
) -> None:
    """Within one job the entry moves forward only: to a later state of its attempt, to a later
    attempt, or to the job's end (which no change of that job leaves)."""
    _, arrived = delivered
    previous: dict[str, Any] = {}
    for item in fold(c for _, c in arrived):
        if previous.get("job_id") == item["job_id"]:
            before, after = Status(previous["status"]), Status(item["status"])
            if before in TERMINAL:
                assert after in TERMINAL
            elif after not in TERMINAL:
                assert (item["attempt"], RANK_OF[after]) >= (previous["attempt"], RANK_OF[before])
        previous = item


# --- what the properties found, as plain examples ----------------------------------------------


def example_job(job_id: str = "job-b", created: int = 2_000_000) -> Job:
    return Job(job_id, "name-1", {**VERSION, "transform": "copy", "output_key": "o"}, created)


def test_a_job_cancelled_while_waiting_for_its_retry_ends() -> None:
    """Batch lists only attempts that ran: the FAILED of a job cancelled in its second attempt's
    RUNNABLE says attempt 1, below the RUNNABLE of attempt 2 the ledger holds."""
    runs = [Attempt(Status.RUNNING, 75, BATCH_DONE), Attempt(Status.RUNNABLE, None, "cancelled")]
    story = example_job().story(runs, Status.FAILED, False, 2_000_100)
    assert (story[-2].status, story[-2].attempt, story[-1].attempt) == (Status.RUNNABLE, 2, 1)
    assert fold(story)[-1]["status"] == "FAILED"


def test_the_verdict_of_a_resubmitted_job_before_its_other_changes() -> None:
    """The worker's SUPERSEDED (no creation time) reaches the ledger while it still holds the
    FAILED job before; the job's delayed changes then arrive, and SUCCEEDED completes it."""
    failed = example_job("job-a", 1_000_000).story(
        [Attempt(Status.RUNNING, 65, BATCH_DONE)], Status.FAILED, False, 1_000_100
    )
    runs = [Attempt(Status.RUNNING, 0, BATCH_DONE)]
    story = example_job().story(runs, Status.SUCCEEDED, True, 2_000_100)
    verdict, succeeded = story[-2], story[-1]
    item = fold([*failed, verdict, *story[:-2], *failed, succeeded])[-1]
    assert (item["status"], item["job_id"], item["exit_code"]) == ("SUPERSEDED", "job-b", 0)
    assert item["job_created_at"] == 2_000_000


def test_a_job_ending_without_an_exit_code_keeps_none_of_an_earlier_attempt() -> None:
    runs = [Attempt(Status.RUNNING, 75, BATCH_DONE), Attempt(Status.RUNNING, None, RECLAIMED)]
    runs.append(Attempt(Status.RUNNABLE, None, "cancelled"))
    story = example_job().story(runs, Status.FAILED, False, 2_000_100)
    assert "exit_code" not in fold(story)[-1]
    assert "exit_code" not in fold([story[-1], *story])[-1]
