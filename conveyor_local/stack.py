"""The whole pipeline on one machine: moto for S3, SQS and DynamoDB (and a Batch queue that runs
nothing), the trigger and completion services the Lambdas run (built by their factories, without
the Lambda handlers), and the local executor for the jobs."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from completion_lambda.record import record
from conveyor import settings
from conveyor.aws import client, clients
from conveyor.events.batch import parse_job_state_change
from conveyor.events.publisher import Publisher
from conveyor.ledger.store import Ledger
from conveyor.reconcile import ANNOUNCED, DEFAULT_OLDER_THAN, reconcile
from conveyor.routing import parse_routes
from conveyor_local import state
from conveyor_local.compute import provision_compute
from conveyor_local.executor import LocalExecutor
from conveyor_local.faults import FaultProxy, Rule
from conveyor_local.poller import BATCH, QueuePoller
from conveyor_local.provision import provision, provision_events
from conveyor_local.server import MotoServer, listen
from conveyor_local.users import provision_users
from conveyor_local.web.app import local_web_app
from conveyor_local.web.server import WebServer
from trigger_lambda.factory import build_trigger

logger = logging.getLogger(__name__)

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": "us-east-1",
}
"""moto accepts any credentials; these keep the local stack from ever signing with real ones."""
POLL_SECONDS = 0.5
QUEUE_ROUNDS = 10
"""Full batches taken from the queue in a row before the executor is looked at again."""
RECONCILE_SECONDS = 60.0
"""How often the loop does what `conveyor reconcile` does on AWS, asking the executor."""
RECONCILE_OLDER_THAN = DEFAULT_OLDER_THAN

Observer = Callable[[dict[str, Any]], None]


@dataclass
class LocalStack:
    endpoint: str
    settings: dict[str, str]
    logs_dir: Path
    server: MotoServer
    executor: LocalExecutor
    poller: QueuePoller
    web: WebServer | None = None
    """The page and its API, when asked for (`local up`, `demo --web`)."""
    proxy: FaultProxy | None = None
    """With `faults`: the proxy every component talks to (`endpoint`); moto is `server.endpoint`."""
    stopped: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    @property
    def environment(self) -> dict[str, str]:
        """What a client needs to use this stack: the endpoint, credentials and settings."""
        return {"AWS_ENDPOINT_URL": self.endpoint, **CREDENTIALS, **self.settings}

    def stop(self, grace: float = 10.0) -> None:
        """Stop everything; running jobs get `grace` seconds to finish, then are terminated."""
        self.stopped.set()
        if self.web is not None:
            self.web.stop()
        if self.thread is not None:
            self.thread.join(timeout=10)
        self.executor.shutdown(grace)
        self.poller.close()
        if self.proxy is not None:
            self.proxy.stop()
        self.server.stop()
        state.remove(os.getpid())


def start(
    *,
    port: int = 0,
    workers: int = 2,
    name: str = "conveyor",
    observe: Observer | None = None,
    record_state: bool = True,
    web_port: int | None = None,
    faults: Sequence[Rule] | None = None,
) -> LocalStack:
    """Start everything and return once it is ready; the caller stops it. Invalid routes, or a
    port that cannot be listened on, raise ConfigError before anything has started. With
    `web_port` (0: any free port) it also serves the web page and its API there. With `faults`,
    every component (trigger, completion, jobs, web API, other terminals) reaches moto through
    a FaultProxy applying those rules, listening on `port` (moto on any free one); provisioning
    talks to moto directly."""
    parse_routes(settings.optional(settings.ROUTES))  # what the trigger and the jobs will read
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request is noise
    server = MotoServer(0 if faults is not None else port)
    proxy: FaultProxy | None = None
    try:
        proxy = _fault_proxy(server.endpoint, faults, port) if faults is not None else None
        web = WebServer(web_port) if web_port is not None else None
    except BaseException:
        if proxy is not None:
            proxy.stop()
        server.stop()
        raise
    server.start()
    os.environ.update({"AWS_ENDPOINT_URL": server.endpoint, **CREDENTIALS})
    configure_moto(server.endpoint)
    s3, sqs, dynamodb, batch, iam, cognito, events, logs = clients(
        "s3", "sqs", "dynamodb", "batch", "iam", "cognito-idp", "events", "logs"
    )
    origins = (web.origin,) if web is not None else ()
    created = provision(s3=s3, sqs=sqs, dynamodb=dynamodb, name=name, web_origins=origins)
    created.update(provision_events(events=events, logs=logs, name=name))
    created.update(provision_compute(batch=batch, iam=iam, name=name))
    created.update(provision_users(cognito, name=name))
    endpoint = proxy.start().url if proxy is not None else server.endpoint
    if proxy is not None:  # from here on, every client is a component's
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        sqs, dynamodb, batch, cognito = clients("sqs", "dynamodb", "batch", "cognito-idp")
    if web is not None:
        created[settings.WEB_ORIGIN] = web.origin  # the API's CORS: the page's own origin
    os.environ.update(created)

    # The runtimes' own services, built from this environment as their Lambdas build them.
    trigger = build_trigger()
    ledger = Ledger(dynamodb, created[settings.LEDGER_TABLE])
    publisher = Publisher.from_settings(client("events"))

    def deliver(event: dict[str, Any]) -> None:
        record(ledger, parse_job_state_change(event), publisher=publisher)
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
        poller=QueuePoller(sqs, created[settings.STAGING_QUEUE], trigger.handle_message),
        web=web,
        proxy=proxy,
    )
    if web is not None:
        web.start(
            local_web_app(
                endpoint=endpoint,
                region=CREDENTIALS["AWS_DEFAULT_REGION"],
                values=created,
                cognito=cognito,
                hosts=web.hosts,
            )
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
                "web": web.url if web is not None else None,
            }
        )
    return stack


def _fault_proxy(upstream: str, rules: Sequence[Rule], port: int) -> FaultProxy:
    """The proxy on the stack's `port` (moto then listens on any free one), or the ConfigError
    that says why the port cannot be listened on."""
    try:
        return FaultProxy(upstream, rules, port=port)
    except OSError:
        listen(port, "--port").close()  # raises the ConfigError naming the problem
        raise


def _loop(stack: LocalStack) -> None:
    ledger = Ledger(client("dynamodb"), stack.settings[settings.LEDGER_TABLE])
    publisher = Publisher.from_settings(client("events"))
    next_reconcile = time.monotonic() + RECONCILE_SECONDS
    while not stack.stopped.is_set():
        try:
            for _ in range(QUEUE_ROUNDS):  # a burst: keep taking full batches for a while
                if stack.poller.poll(wait_seconds=0) < BATCH:
                    break
            stack.executor.poll()
            if time.monotonic() >= next_reconcile:
                next_reconcile = time.monotonic() + RECONCILE_SECONDS
                _reconcile(ledger, stack.executor, publisher)
        except Exception:
            logger.exception("local stack loop")
        stack.stopped.wait(POLL_SECONDS)


def _reconcile(ledger: Ledger, executor: LocalExecutor, publisher: Publisher) -> None:
    """Entries whose events were lost, put right from the executor's view of its jobs: moto's
    own Batch would call every job SUCCEEDED. Runs after `executor.poll`, so it knows every job;
    an entry it ends is announced as the completion announces one, and so is an end of the last
    day whose event was never put."""
    rows = reconcile(ledger, executor, older_than=RECONCILE_OLDER_THAN, publisher=publisher)
    for row in rows:
        if row["action"] == ANNOUNCED:
            logger.warning(
                "announced %s (job %s): %s", row["key"], row["job_id"], row["ledger_status"]
            )
        elif row["action"] == "updated":
            logger.warning(
                "reconciled %s (job %s): %s -> %s %s",
                row["key"],
                row["job_id"],
                row["ledger_status"],
                row["new_status"],
                row["reason"],
            )


def configure_moto(endpoint: str) -> None:
    """moto's Batch must not try to start Docker containers: the executor runs the jobs."""
    request = urllib.request.Request(
        f"{endpoint}/moto-api/config",
        data=json.dumps({"batch": {"use_docker": False}}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10).read()
