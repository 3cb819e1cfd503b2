"""The whole pipeline on one machine: moto for S3, SQS and DynamoDB (and a Batch queue that runs
nothing), the real trigger and completion handlers, and the local executor for the jobs."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conveyor import settings
from conveyor.aws import clients
from conveyor.local import state
from conveyor.local.compute import provision_compute
from conveyor.local.executor import LocalExecutor
from conveyor.local.poller import QueuePoller
from conveyor.local.provision import provision

logger = logging.getLogger(__name__)

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": "us-east-1",
}
"""moto accepts any credentials; these keep the local stack from ever signing with real ones."""
POLL_SECONDS = 0.5

Observer = Callable[[dict[str, Any]], None]


@dataclass
class LocalStack:
    endpoint: str
    settings: dict[str, str]
    logs_dir: Path
    server: Any
    executor: LocalExecutor
    poller: QueuePoller
    stopped: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    @property
    def environment(self) -> dict[str, str]:
        """What a client needs to use this stack: the endpoint, credentials and settings."""
        return {"AWS_ENDPOINT_URL": self.endpoint, **CREDENTIALS, **self.settings}

    def stop(self) -> None:
        self.stopped.set()
        if self.thread is not None:
            self.thread.join(timeout=10)
        self.executor.shutdown()
        self.server.stop()
        state.remove(os.getpid())


def start(
    *,
    port: int = 0,
    workers: int = 2,
    name: str = "conveyor",
    observe: Observer | None = None,
    record_state: bool = True,
) -> LocalStack:
    """Start everything and return once it is ready; the caller stops it."""
    from moto.server import ThreadedMotoServer

    port = port or _free_port()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request is noise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    os.environ.update({"AWS_ENDPOINT_URL": endpoint, **CREDENTIALS})
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    configure_moto(endpoint)
    s3, sqs, dynamodb, batch, iam = clients("s3", "sqs", "dynamodb", "batch", "iam")
    created = provision(s3=s3, sqs=sqs, dynamodb=dynamodb, name=name)
    created.update(provision_compute(batch=batch, iam=iam, name=name))
    os.environ.update(created)

    # The handlers read the settings and build their clients on first use, from this environment.
    from completion_lambda import handler as completion
    from trigger_lambda import handler as trigger

    trigger.trigger.cache_clear()
    completion.ledger.cache_clear()

    def deliver(event: dict[str, Any]) -> None:
        completion.handler(event, None)
        if observe:
            observe(event)

    logs_dir = state.home() / "logs"
    stack = LocalStack(
        endpoint=endpoint,
        settings=created,
        logs_dir=logs_dir,
        server=server,
        executor=LocalExecutor(
            batch=batch,
            job_queue=created[settings.JOB_QUEUE],
            environment=dict(os.environ),
            logs_dir=logs_dir,
            deliver=deliver,
            workers=workers,
        ),
        poller=QueuePoller(
            sqs, created[settings.STAGING_QUEUE], lambda e: trigger.handler(e, None)
        ),
    )
    stack.poller.drain()
    stack.thread = threading.Thread(target=_loop, args=(stack,), name="local-stack", daemon=True)
    stack.thread.start()
    if record_state:
        state.write(
            {
                "pid": os.getpid(),
                "endpoint": endpoint,
                "settings": created,
                "logs_dir": str(logs_dir),
            }
        )
    return stack


def _loop(stack: LocalStack) -> None:
    while not stack.stopped.is_set():
        try:
            stack.poller.poll(wait_seconds=0)
            stack.executor.poll()
        except Exception:
            logger.exception("local stack loop")
        stack.stopped.wait(POLL_SECONDS)


def configure_moto(endpoint: str) -> None:
    """moto's Batch must not try to start Docker containers: the executor runs the jobs."""
    request = urllib.request.Request(
        f"{endpoint}/moto-api/config",
        data=json.dumps({"batch": {"use_docker": False}}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10).read()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
