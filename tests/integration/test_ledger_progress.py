"""The worker's percent on its ledger entry: written only while the entry is this job's and
RUNNING, dropped by the next state change, shown by `conveyor show`."""

from __future__ import annotations

import json
import uuid

from typer.testing import CliRunner

from conveyor.events.batch import JobStateChange
from conveyor.ledger.schema import primary_key
from conveyor.status import Status
from conveyor_cli.main import app
from tests.conftest import Stack
from tests.integration.worker import Uploaded, ledger, record_running, run_worker, upload


def change(
    stack: Stack, obj: Uploaded, job_id: str, status: Status, created_at: int
) -> JobStateChange:
    """A state change of `job_id` for the version, as the completion Lambda gets it."""
    params = {
        "bucket": stack.staging,
        "key": obj.key,
        "version_id": obj.version_id,
        "etag": obj.etag,
    }
    return JobStateChange(job_id=job_id, status=status, parameters=params, created_at=created_at)


def test_progress_lands_only_on_this_jobs_running_entry(stack: Stack) -> None:
    obj = upload(stack, "in/a.mov", b"hello")
    key = primary_key(stack.staging, obj.key, f"v#{obj.version_id}")
    book = ledger(stack)
    first, second = str(uuid.uuid4()), str(uuid.uuid4())

    assert book.apply(change(stack, obj, first, Status.SUBMITTED, 1000))
    assert not book.progress(key, first, 10.0)  # not RUNNING yet (its event may lag on AWS)
    assert "progress" not in book.get(key["pk"], key["sk"])

    assert book.apply(change(stack, obj, first, Status.RUNNING, 1000))
    assert book.progress(key, first, 42.5)
    item = book.get(key["pk"], key["sk"])
    assert (item["progress"], item["revision"]) == (42.5, 2)  # no state change: no revision
    assert item["progress_at"] >= item["updated_at"]
    assert not book.progress(key, second, 50.0)  # another job's write

    # A newer job takes the version over: the old job's late write changes nothing.
    assert book.apply(change(stack, obj, second, Status.RUNNING, 2000))
    before = book.get(key["pk"], key["sk"])
    assert "progress" not in before and "progress_at" not in before  # the state change drops it
    assert not book.progress(key, first, 99.0)
    assert book.get(key["pk"], key["sk"]) == before

    assert book.progress(key, second, 5.0)
    assert book.apply(change(stack, obj, second, Status.SUCCEEDED, 2000))
    assert not book.progress(key, second, 100.0)  # finished: nothing more lands
    assert "progress" not in book.get(key["pk"], key["sk"])


def test_the_worker_writes_its_progress_while_it_runs(stack: Stack) -> None:
    obj = upload(stack, "in/b.txt", b"hello world\n" * 100)
    job_id = str(uuid.uuid4())
    record_running(stack, obj, job_id)
    done = run_worker(
        stack,
        obj,
        "command",
        argv=["sh", "-c", "cat; sleep 1"],  # reads it all, then works a while longer
        env={"CONVEYOR_LEDGER_PROGRESS_SECONDS": "0.1"},
        job_id=job_id,
    )
    assert done.returncode == 0, done.stderr
    [item] = ledger(stack).versions_of(stack.staging, obj.key)
    assert item["status"] == "RUNNING"  # no completion event in this test: Batch's, not ours
    assert item["progress"] == 100.0 and item["progress_at"]


def test_a_worker_whose_entry_is_another_jobs_writes_nothing(stack: Stack) -> None:
    obj = upload(stack, "in/c.txt", b"hello world\n" * 100)
    record_running(stack, obj, str(uuid.uuid4()))  # a newer job owns the entry now
    done = run_worker(
        stack,
        obj,
        "command",
        argv=["sh", "-c", "cat; sleep 1"],
        env={"CONVEYOR_LEDGER_PROGRESS_SECONDS": "0.1"},
        job_id=str(uuid.uuid4()),
    )
    assert done.returncode == 0, done.stderr
    [item] = ledger(stack).versions_of(stack.staging, obj.key)
    assert "progress" not in item
    assert done.stderr.count('"progress not recorded') == 1  # said once; the job carried on


def test_conveyor_show_prints_the_progress(stack: Stack) -> None:
    obj = upload(stack, "in/d.mov", b"hello")
    job_id = str(uuid.uuid4())
    record_running(stack, obj, job_id)
    key = primary_key(stack.staging, obj.key, f"v#{obj.version_id}")
    assert ledger(stack).progress(key, job_id, 42.5)
    runner = CliRunner()
    shown = runner.invoke(app, ["show", obj.key], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    [line] = [line for line in shown.stdout.splitlines() if line.startswith("progress")]
    assert "42.5% at 20" in line
    as_json = runner.invoke(app, ["show", obj.key, "--json"], env={"COLUMNS": "200"})
    [row] = json.loads(as_json.stdout)
    assert row["progress"] == 42.5 and row["progress_at"]


def test_facts_recorded_during_a_state_change_are_never_put_back_out(stack: Stack) -> None:
    """The worker records its probe while the completion applies its RUNNING event: a state
    change read before the facts landed must not write the item back without them."""
    obj = upload(stack, "in/race.mov", b"hello")
    key = primary_key(stack.staging, obj.key, f"v#{obj.version_id}")
    book = ledger(stack)
    job = str(uuid.uuid4())
    assert book.apply(change(stack, obj, job, Status.SUBMITTED, 1000))
    read_before = book.get(key["pk"], key["sk"])  # the completion reads...
    assert book.annotate(key, {"probe": {"video_codec": "h264"}})  # ...the worker notes...
    assert book.apply(change(stack, obj, job, Status.RUNNING, 1000), current=read_before)
    item = book.get(key["pk"], key["sk"])  # ...and the completion's write keeps the facts
    assert (item["status"], item["probe"]) == ("RUNNING", {"video_codec": "h264"})
