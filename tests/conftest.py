"""Shared fixtures: a moto server over HTTP on 127.0.0.1, sample events, a provisioned stack."""

from __future__ import annotations

import json
import logging
import os
import socket
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

EVENTS = Path(__file__).parent / "events"
logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per moto request is noise

# Never reach real AWS: dummy credentials, and an endpoint nothing listens on until moto starts.
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
    os.environ.pop(_name, None)
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_ENDPOINT_URL="http://127.0.0.1:9",
    AWS_MAX_ATTEMPTS="2",
    # A developer's running `conveyor local up` must never be what a test talks to.
    CONVEYOR_HOME=tempfile.mkdtemp(prefix="conveyor-test-home-"),
    # ... nor the digest cache of their own `conveyor upload` runs.
    CONVEYOR_CACHE_DIR=tempfile.mkdtemp(prefix="conveyor-test-cache-"),
)


def load_event(name: str) -> dict[str, Any]:
    """A sample event from tests/events, in the shape AWS documents."""
    return json.loads((EVENTS / name).read_text())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """One moto server for the whole run; Batch in simple mode so SubmitJob needs no Docker."""
    from moto.server import ThreadedMotoServer

    from conveyor_local import moto_fixes
    from conveyor_local.stack import configure_moto

    moto_fixes.apply()  # as the local stack does: keys with control characters can be listed

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    configure_moto(url)
    previous = os.environ["AWS_ENDPOINT_URL"]
    os.environ["AWS_ENDPOINT_URL"] = url
    yield url
    os.environ["AWS_ENDPOINT_URL"] = previous
    server.stop()


@dataclass
class Stack:
    """A freshly provisioned set of resources with their own names, and clients pointed at them."""

    settings: dict[str, str]
    s3: Any
    sqs: Any
    dynamodb: Any
    batch: Any

    @property
    def staging(self) -> str:
        return self.settings["CONVEYOR_STAGING_BUCKET"]

    @property
    def queue_url(self) -> str:
        return self.settings["CONVEYOR_STAGING_QUEUE"]

    def receive_all(self, expected: int | None = None, wait: float = 5.0) -> list[dict[str, Any]]:
        """Drain the staging queue (until `expected` messages arrived or it stays empty)."""
        import time

        messages: list[dict[str, Any]] = []
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            got = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            messages.extend(got)
            if expected is not None and len(messages) >= expected:
                break
            if not got and expected is None:
                break
            if not got:
                time.sleep(0.05)
        return messages


@pytest.fixture
def stack(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Stack:
    """Provision buckets, queue and ledger like `conveyor local provision`, plus a Batch queue."""
    from conveyor.aws import client
    from conveyor_local.compute import provision_compute
    from conveyor_local.provision import provision

    name = f"t{uuid.uuid4().hex[:10]}"
    s3, sqs, dynamodb, batch = (client(s) for s in ("s3", "sqs", "dynamodb", "batch"))
    settings = provision(s3=s3, sqs=sqs, dynamodb=dynamodb, name=name)
    settings.update(provision_compute(batch=batch, iam=client("iam"), name=name))
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("CONVEYOR_ROUTES", raising=False)
    created = Stack(settings=settings, s3=s3, sqs=sqs, dynamodb=dynamodb, batch=batch)
    created.receive_all()  # the s3:TestEvent that saving the notification sends
    return created
