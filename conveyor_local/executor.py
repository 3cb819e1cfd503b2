"""Runs the jobs on the local Batch queue as the container would, and reports their states.

Jobs are submitted over HTTP to moto's Batch API (by the trigger, or by `conveyor resubmit` from
another terminal); moto itself runs nothing. The executor finds new jobs on the queue, substitutes
their parameters into the job definition's command exactly as Batch does, and runs
`python -m batch_job ...` with at most `workers` jobs at once, retrying like the job definition's
retry strategy (exit 75 only). An array job's children run one by one as workers come free, each
with `AWS_BATCH_JOB_ARRAY_INDEX`, and its parent ends when they all have. Each state a job passes
through is delivered, shaped as EventBridge delivers it, to `deliver` (the completion handler).
`describe_jobs` answers as DescribeJobs would, from each job's last state, for reconciling: moto's
DescribeJobs calls every job SUCCEEDED.
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from conveyor.clock import millis, utcnow
from conveyor.jobs import ENTRYPOINT as IMAGE_ENTRYPOINT
from conveyor.jobs import RETRY_ATTEMPTS, command_line, retried
from conveyor_local.arrays import ArrayRun, array_size, split_child_id
from conveyor_local.events import attempt_record, state_change
from conveyor_local.outbox import Outbox

logger = logging.getLogger(__name__)

ENTRYPOINT = (sys.executable, *IMAGE_ENTRYPOINT[1:])
"""The image's `python -m batch_job`, with this machine's Python."""
EXITED = "Essential container in task exited"
DESCRIBE_LIMIT = 100

LOOKBACK_MS = 10_000
"""ListJobs asks only for jobs created since the newest one seen, less this margin (a job that
moto was still making, or that ListJobs showed late, still shows; the seen ones are skipped), so
a queue of 10,000 finished jobs is not listed again every poll."""
TERM_SECONDS = 5.0
"""After `terminate`, how long a job has to exit before it is killed."""
PR_SET_PDEATHSIG = 1
"""prctl(2): the signal the kernel sends this child when its parent thread exits."""

Deliver = Callable[[dict[str, Any]], None]
Task = tuple[dict[str, Any], ArrayRun | None, int | None]
"""A job to run: its description, and for an array's child its array and index."""


def die_with_this_process() -> Callable[[], None] | None:
    """On Linux, a `preexec_fn` making the kernel SIGTERM the job when the stack dies, even by
    SIGKILL, so no job outlives it; elsewhere None (jobs then stop only on a clean stop).

    The kernel signals when the *thread* that started the job exits: jobs start on the worker
    threads, which live until `shutdown` has stopped every job."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the child only calls it
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM))
        if os.getppid() != parent:  # the stack died before prctl: no signal will come
            os._exit(1)

    return preexec


def created_since(newest: int) -> list[dict[str, Any]]:
    """ListJobs' filter for jobs created after `newest` less the look-back, in any status."""
    return [{"name": "AFTER_CREATED_AT", "values": [str(max(newest - LOOKBACK_MS, 0))]}]


class LocalExecutor:
    def __init__(
        self,
        *,
        batch: Any,
        job_queue: str,
        environment: Mapping[str, str],
        logs_dir: Path,
        deliver: Deliver,
        workers: int = 2,
        entrypoint: Sequence[str] = ENTRYPOINT,
    ) -> None:
        """`entrypoint` is what the job definition's command is appended to (tests run a fake)."""
        self._batch = batch
        self._queue = job_queue
        self._env = dict(environment)
        self._logs = logs_dir
        self._outbox = Outbox(deliver)
        self._entrypoint = tuple(entrypoint)
        self._seen: set[str] = set()
        self._newest = 0
        """The newest createdAt listed: the next ListJobs asks only for jobs created about since."""
        self._definitions: dict[str, dict[str, Any]] = {}
        self._running: dict[str, subprocess.Popen[bytes]] = {}
        self._states: dict[str, dict[str, Any]] = {}
        """Each ordinary job's latest detail, as its last event carried it: what DescribeJobs
        would say. Arrays keep their children's in their `ArrayRun`."""
        self._arrays: dict[str, ArrayRun] = {}
        self._lock = threading.Lock()
        self._work = threading.Condition()
        self._pending: deque[dict[str, Any] | ArrayRun] = deque()
        """Jobs and arrays waiting for a worker, in the order they were found."""
        self._active = 0
        self._stopping = threading.Event()
        self._preexec = die_with_this_process()
        logs_dir.mkdir(parents=True, exist_ok=True)
        self._workers = [
            threading.Thread(target=self._serve, name=f"job-{n}", daemon=True)
            for n in range(workers)
        ]
        for worker in self._workers:
            worker.start()

    def poll(self) -> int:
        """Schedule every job on the queue not seen before; returns how many were new."""
        newest = self._newest
        new = []
        pages = self._batch.get_paginator("list_jobs").paginate(
            jobQueue=self._queue, filters=created_since(self._newest)
        )
        for page in pages:
            for summary in page["jobSummaryList"]:
                newest = max(newest, int(summary.get("createdAt") or 0))
                job_id = summary["jobId"]
                # Children run through their parent: Batch lists them only under it, moto on the
                # queue too.
                if job_id not in self._seen and split_child_id(job_id) is None:
                    new.append(job_id)
        for start in range(0, len(new), DESCRIBE_LIMIT):
            for job in self._batch.describe_jobs(jobs=new[start : start + DESCRIBE_LIMIT])["jobs"]:
                self._schedule(job)
        self._newest = newest  # only once every job listed is scheduled
        return len(new)

    def describe_jobs(self, *, jobs: list[str]) -> dict[str, Any]:
        """DescribeJobs' answer for the jobs this executor knows; others are left out, as Batch
        leaves out jobs it does not know."""
        found = []
        with self._lock:
            for job_id in jobs:
                if job_id in self._states:
                    found.append(copy.deepcopy(self._states[job_id]))
                elif (detail := self._describe_array(job_id)) is not None:
                    found.append(detail)
        return {"jobs": found}

    def idle(self) -> bool:
        """No job waiting, none running, and every event delivered."""
        with self._work:
            busy = bool(self._pending or self._active)
        return not busy and self._outbox.drained()

    def log_path(self, job_id: str) -> Path:
        return self._logs / f"{job_id}.log"

    def shutdown(self, grace: float = 10.0) -> None:
        """Stop taking jobs; give running ones `grace` seconds, then terminate them (and the
        tools they run: each job is a process group), and kill what still runs after that."""
        self._stopping.set()
        with self._work:
            self._pending.clear()
            self._work.notify_all()
        deadline = time.monotonic() + grace
        while not self.idle() and time.monotonic() < deadline:
            time.sleep(0.1)
        self._signal_all(signal.SIGTERM)
        deadline = time.monotonic() + TERM_SECONDS
        while not self.idle() and time.monotonic() < deadline:
            time.sleep(0.1)
        self._signal_all(signal.SIGKILL)
        for worker in self._workers:
            worker.join()
        self._outbox.close(timeout=max(deadline - time.monotonic(), 1.0))

    def _signal_all(self, signum: int) -> None:
        with self._lock:
            for process in self._running.values():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signum)

    def _schedule(self, job: dict[str, Any]) -> None:
        """Queue a job (an array: its children) for the workers; `_prepare` failing leaves it
        unseen, so the next poll tries again."""
        job = self._prepare(job)
        self._seen.add(job["jobId"])
        size = array_size(job)
        if size is None:
            self._record(state_change(job, "SUBMITTED"))
            unit: dict[str, Any] | ArrayRun = job
        else:
            unit = ArrayRun(parent=job, size=size)
            with self._lock:
                self._arrays[unit.job_id] = unit
            with unit.lock:
                self._send(state_change(job, "PENDING", array=unit.properties()))
        with self._work:
            self._pending.append(unit)
            self._work.notify()

    def _prepare(self, job: dict[str, Any]) -> dict[str, Any]:
        """The job with the command Batch would run: its parameters put into its definition's."""
        definition = self._definition(job["jobDefinition"])
        parameters = {**definition.get("parameters", {}), **job.get("parameters", {})}
        command = command_line(definition["containerProperties"]["command"], parameters)
        return {**job, "container": {"command": [*self._entrypoint, *command]}}

    def _next(self) -> Task | None:
        """The next job for a free worker (waiting for one); None once stopping."""
        with self._work:
            while not self._stopping.is_set():
                if self._pending:
                    head = self._pending[0]
                    self._active += 1
                    if isinstance(head, ArrayRun):
                        index = head.take()
                        if head.dispatched:
                            self._pending.popleft()
                        return head.child(index), head, index
                    self._pending.popleft()
                    return head, None, None
                self._work.wait()
        return None

    def _serve(self) -> None:
        """A worker: runs one job after another until the executor stops."""
        while (task := self._next()) is not None:
            job, array, index = task
            ended = False
            try:
                ended = self._attempts(job, array, index)
            except Exception:
                logger.exception("local executor failed on job %s", job["jobId"])
            finally:
                if not ended and array is not None and index is not None:
                    self._end_child(array, index)
                with self._work:
                    self._active -= 1
                    self._work.notify_all()

    def _attempts(self, job: dict[str, Any], array: ArrayRun | None, index: int | None) -> bool:
        """Run the job until it succeeds, fails or runs out of retries; False if it never got
        that far (the executor is stopping, or something broke)."""
        argv = list(job["container"]["command"])
        finished: list[dict[str, Any]] = []

        def emit(status: str, **kw: Any) -> None:
            self._emit(job, status, finished, array, index, **kw)

        emit("PENDING")
        for attempt in range(1, RETRY_ATTEMPTS + 1):
            if self._stopping.is_set():
                return False
            emit("RUNNABLE")
            emit("STARTING")
            started = millis(utcnow())
            log = self.log_path(job["jobId"])
            emit("RUNNING", started_at=started, log_stream=str(log))
            code = self._execute(job["jobId"], argv, attempt, log, index)
            if code is None:
                return False
            stopped = millis(utcnow())
            finished.append(
                attempt_record(
                    started_at=started,
                    stopped_at=stopped,
                    exit_code=code,
                    log_stream=str(log),
                    reason=EXITED,
                )
            )
            if not retried(code, EXITED, attempt):
                emit(
                    "SUCCEEDED" if code == 0 else "FAILED",
                    reason=EXITED,
                    started_at=started,
                    stopped_at=stopped,
                    exit_code=code,
                    log_stream=str(log),
                )
                return True
        return False  # not reached: the last attempt is never retried

    def _execute(
        self, job_id: str, argv: list[str], attempt: int, log: Path, index: int | None
    ) -> int | None:
        """The job's exit code, or None when the executor is stopping and did not start it."""
        env = {**self._env, "AWS_BATCH_JOB_ID": job_id, "AWS_BATCH_JOB_ATTEMPT": str(attempt)}
        if index is not None:
            env["AWS_BATCH_JOB_ARRAY_INDEX"] = str(index)
        with log.open("ab") as out:
            out.write(f"--- attempt {attempt}: {' '.join(argv)}\n".encode())
            out.flush()
            with self._lock:  # `shutdown` signals every job started, and no job starts after
                if self._stopping.is_set():
                    return None
                process = subprocess.Popen(
                    argv,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # Ctrl-C reaches the stack, which stops the jobs
                    preexec_fn=self._preexec,
                )
                self._running[job_id] = process
            try:
                return process.wait()
            finally:
                with self._lock:
                    self._running.pop(job_id, None)

    def _emit(
        self,
        job: dict[str, Any],
        status: str,
        finished: list[dict[str, Any]],
        array: ArrayRun | None,
        index: int | None,
        **kw: Any,
    ) -> None:
        if array is None or index is None:
            event = state_change(job, status, attempts=finished, **kw)
            with self._lock:
                self._states[job["jobId"]] = event["detail"]
            self._send(event)
            return
        self._send(state_change(job, status, attempts=finished, array={"index": index}, **kw))
        with array.lock:
            with self._lock:
                parent = array.move(index, status, finished, kw)
            if parent is not None:
                self._send_parent(array, parent)

    def _end_child(self, array: ArrayRun, index: int) -> None:
        """A child whose run broke off without a final state counts as ended (not succeeded),
        unless the executor is stopping: then nothing ends."""
        if self._stopping.is_set():
            return
        with array.lock:
            with self._lock:
                state = array.child_state(index)
                parent = array.move(index, state.status, state.attempts, state.detail, ended=True)
            if parent is not None:
                self._send_parent(array, parent)

    def _send_parent(self, array: ArrayRun, status: str) -> None:
        """The parent's event for its new `status` (called with `array.lock` held)."""
        detail = {"stopped_at": millis(utcnow())} if status in ("SUCCEEDED", "FAILED") else {}
        with self._lock:
            array.detail = detail
        self._send(state_change(array.parent, status, array=array.properties(), **detail))

    def _describe_array(self, job_id: str) -> dict[str, Any] | None:
        """A parent's or child's detail, said again from what its array knows (`_lock` held)."""
        if (array := self._arrays.get(job_id)) is not None:
            event = state_change(
                array.parent, array.status, array=array.properties(), **array.detail
            )
            return event["detail"]
        named = split_child_id(job_id)
        if named is None or (array := self._arrays.get(named[0])) is None:
            return None
        index = named[1]
        if index >= array.size:
            return None
        state = array.child_state(index)
        child = array.child(index)
        event = state_change(
            child, state.status, attempts=state.attempts, array={"index": index}, **state.detail
        )
        return event["detail"]

    def _send(self, event: dict[str, Any]) -> None:
        """Deliver the event after those sent before it, while the job goes on."""
        self._outbox.put(event)

    def _record(self, event: dict[str, Any]) -> None:
        with self._lock:
            self._states[event["detail"]["jobId"]] = event["detail"]

    def _definition(self, arn: str) -> dict[str, Any]:
        """A job definition revision never changes: each is asked for once."""
        if arn not in self._definitions:
            found = self._batch.describe_job_definitions(jobDefinitions=[arn])["jobDefinitions"]
            if not found:
                raise RuntimeError(f"job definition {arn} not found")
            self._definitions[arn] = found[0]
        return self._definitions[arn]
