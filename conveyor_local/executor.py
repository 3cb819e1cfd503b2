"""Runs the jobs on the local Batch queue as the container would, and reports their states.

Jobs are submitted over HTTP to moto's Batch API (by the trigger, or by `conveyor resubmit` from
another terminal); moto itself runs nothing. The executor finds new jobs on the queue, substitutes
their parameters into the job definition's command exactly as Batch does, and runs
`python -m batch_job ...` with at most N jobs at once, retrying like the job definition's retry
strategy (exit 75 only). Each state a job passes through is delivered, shaped as EventBridge
delivers it, to `deliver` (the completion handler). `describe_jobs` answers as DescribeJobs
would, from each job's last state, for reconciling: moto's DescribeJobs calls every job SUCCEEDED.
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
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from conveyor.clock import millis, utcnow
from conveyor.jobs import ENTRYPOINT as IMAGE_ENTRYPOINT
from conveyor.jobs import RETRY_ATTEMPTS, command_line, retried
from conveyor_local.events import attempt_record, state_change

logger = logging.getLogger(__name__)

ENTRYPOINT = (sys.executable, *IMAGE_ENTRYPOINT[1:])
"""The image's `python -m batch_job`, with this machine's Python."""
STATUSES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")
EXITED = "Essential container in task exited"

TERM_SECONDS = 5.0
"""After `terminate`, how long a job has to exit before it is killed."""
PR_SET_PDEATHSIG = 1
"""prctl(2): the signal the kernel sends this child when its parent thread exits."""

Deliver = Callable[[dict[str, Any]], None]


def die_with_this_process() -> Callable[[], None] | None:
    """On Linux, a `preexec_fn` making the kernel SIGTERM the job when the stack dies, even by
    SIGKILL, so no job outlives it; elsewhere None (jobs then stop only on a clean stop).

    The kernel signals when the *thread* that started the job exits: jobs start on the pool's
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
    ) -> None:
        self._batch = batch
        self._queue = job_queue
        self._env = dict(environment)
        self._logs = logs_dir
        self._deliver = deliver
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="job")
        self._seen: set[str] = set()
        self._running: dict[str, subprocess.Popen[bytes]] = {}
        self._states: dict[str, dict[str, Any]] = {}
        """Each job's latest detail, as its last event carried it: what DescribeJobs would say."""
        self._futures: list[Future[None]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._preexec = die_with_this_process()
        logs_dir.mkdir(parents=True, exist_ok=True)

    def poll(self) -> int:
        """Schedule every job on the queue not seen before; returns how many were new."""
        new = []
        for status in STATUSES:
            pages = self._batch.get_paginator("list_jobs").paginate(
                jobQueue=self._queue, jobStatus=status
            )
            for page in pages:
                new += [j["jobId"] for j in page["jobSummaryList"] if j["jobId"] not in self._seen]
        for start in range(0, len(new), 100):
            for job in self._batch.describe_jobs(jobs=new[start : start + 100])["jobs"]:
                self._seen.add(job["jobId"])
                self._record(state_change(job, "SUBMITTED"))
                self._futures.append(self._pool.submit(self._run, job))
        return len(new)

    def describe_jobs(self, *, jobs: list[str]) -> dict[str, Any]:
        """DescribeJobs' answer for the jobs this executor knows; others are left out, as Batch
        leaves out jobs it does not know."""
        with self._lock:
            return {"jobs": [copy.deepcopy(self._states[j]) for j in jobs if j in self._states]}

    def idle(self) -> bool:
        self._futures = [f for f in self._futures if not f.done()]
        return not self._futures

    def log_path(self, job_id: str) -> Path:
        return self._logs / f"{job_id}.log"

    def shutdown(self, grace: float = 10.0) -> None:
        """Stop taking jobs; give running ones `grace` seconds, then terminate them (and the
        tools they run: each job is a process group), and kill what still runs after that."""
        self._stopping.set()
        deadline = time.monotonic() + grace
        while not self.idle() and time.monotonic() < deadline:
            time.sleep(0.1)
        self._signal_all(signal.SIGTERM)
        deadline = time.monotonic() + TERM_SECONDS
        while not self.idle() and time.monotonic() < deadline:
            time.sleep(0.1)
        self._signal_all(signal.SIGKILL)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _signal_all(self, signum: int) -> None:
        with self._lock:
            for process in self._running.values():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signum)

    def _run(self, job: dict[str, Any]) -> None:
        try:
            self._attempts(job)
        except Exception:
            logger.exception("local executor failed on job %s", job["jobId"])

    def _attempts(self, job: dict[str, Any]) -> None:
        definition = self._definition(job["jobDefinition"])
        parameters = {**definition.get("parameters", {}), **job.get("parameters", {})}
        argv = [
            *ENTRYPOINT,
            *command_line(definition["containerProperties"]["command"], parameters),
        ]
        job = {**job, "container": {"command": argv}}
        finished: list[dict[str, Any]] = []
        self._emit(job, "PENDING", finished)
        for attempt in range(1, RETRY_ATTEMPTS + 1):
            if self._stopping.is_set():
                return
            self._emit(job, "RUNNABLE", finished)
            self._emit(job, "STARTING", finished)
            started = millis(utcnow())
            log = self.log_path(job["jobId"])
            self._emit(job, "RUNNING", finished, started_at=started, log_stream=str(log))
            code = self._execute(job["jobId"], argv, attempt, log)
            if code is None:
                return
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
                status = "SUCCEEDED" if code == 0 else "FAILED"
                self._emit(
                    job,
                    status,
                    finished,
                    reason=EXITED,
                    started_at=started,
                    stopped_at=stopped,
                    exit_code=code,
                    log_stream=str(log),
                )
                return

    def _execute(self, job_id: str, argv: list[str], attempt: int, log: Path) -> int | None:
        """The job's exit code, or None when the executor is stopping and did not start it."""
        env = {**self._env, "AWS_BATCH_JOB_ID": job_id, "AWS_BATCH_JOB_ATTEMPT": str(attempt)}
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
        self, job: dict[str, Any], status: str, finished: list[dict[str, Any]], **kw: Any
    ) -> None:
        event = state_change(job, status, attempts=finished, **kw)
        self._record(event)
        try:
            self._deliver(event)
        except Exception:
            logger.exception("delivering %s for job %s failed", status, job["jobId"])

    def _record(self, event: dict[str, Any]) -> None:
        with self._lock:
            self._states[event["detail"]["jobId"]] = event["detail"]

    def _definition(self, arn: str) -> dict[str, Any]:
        found = self._batch.describe_job_definitions(jobDefinitions=[arn])["jobDefinitions"]
        if not found:
            raise RuntimeError(f"job definition {arn} not found")
        return found[0]
