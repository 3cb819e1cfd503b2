"""Runs the jobs on the local Batch queue as the container would, and reports their states.

Jobs are submitted over HTTP to moto's Batch API (by the trigger, or by `conveyor resubmit` from
another terminal); moto itself runs nothing. The executor finds new jobs on the queue, substitutes
their parameters into the job definition's command exactly as Batch does, and runs
`python -m batch_job ...` with at most N jobs at once, retrying like the job definition's retry
strategy (exit 75 only). Each state a job passes through is delivered, shaped as EventBridge
delivers it, to `deliver` (the completion handler).
"""

from __future__ import annotations

import logging
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
from conveyor.jobs import RETRY_ATTEMPTS, RETRY_EXIT_CODE, command_line
from conveyor.local.events import attempt_record, state_change

logger = logging.getLogger(__name__)

ENTRYPOINT = (sys.executable, *IMAGE_ENTRYPOINT[1:])
"""The image's `python -m batch_job`, with this machine's Python."""
STATUSES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")
EXITED = "Essential container in task exited"

Deliver = Callable[[dict[str, Any]], None]


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
        self._futures: list[Future[None]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
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
                self._futures.append(self._pool.submit(self._run, job))
        return len(new)

    def idle(self) -> bool:
        self._futures = [f for f in self._futures if not f.done()]
        return not self._futures

    def log_path(self, job_id: str) -> Path:
        return self._logs / f"{job_id}.log"

    def shutdown(self, grace: float = 10.0) -> None:
        """Stop taking jobs; give running ones `grace` seconds, then terminate them."""
        self._stopping.set()
        deadline = time.monotonic() + grace
        while not self.idle() and time.monotonic() < deadline:
            time.sleep(0.1)
        with self._lock:
            for process in self._running.values():
                process.terminate()
        self._pool.shutdown(wait=True, cancel_futures=True)

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
            if code == 0 or code != RETRY_EXIT_CODE or attempt == RETRY_ATTEMPTS:
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

    def _execute(self, job_id: str, argv: list[str], attempt: int, log: Path) -> int:
        env = {**self._env, "AWS_BATCH_JOB_ID": job_id, "AWS_BATCH_JOB_ATTEMPT": str(attempt)}
        with log.open("ab") as out:
            out.write(f"--- attempt {attempt}: {' '.join(argv)}\n".encode())
            out.flush()
            process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
            with self._lock:
                self._running[job_id] = process
            try:
                return process.wait()
            finally:
                with self._lock:
                    self._running.pop(job_id, None)

    def _emit(
        self, job: dict[str, Any], status: str, finished: list[dict[str, Any]], **kw: Any
    ) -> None:
        try:
            self._deliver(state_change(job, status, attempts=finished, **kw))
        except Exception:
            logger.exception("delivering %s for job %s failed", status, job["jobId"])

    def _definition(self, arn: str) -> dict[str, Any]:
        found = self._batch.describe_job_definitions(jobDefinitions=[arn])["jobDefinitions"]
        if not found:
            raise RuntimeError(f"job definition {arn} not found")
        return found[0]
