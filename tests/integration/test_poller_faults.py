"""The local stack's poller when SQS answers are lost: a receive whose answer never arrived hid
its messages, which must come back soon, not after the queue's 180 s visibility timeout."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from conveyor.aws import client
from conveyor_local import poller
from conveyor_local.faults import FaultProxy, fault_proxy
from tests.conftest import Stack


@pytest.fixture
def proxy(moto_endpoint: str) -> Iterator[FaultProxy]:
    with fault_proxy(moto_endpoint) as running:
        yield running


def test_messages_of_a_lost_receive_come_back_soon(
    stack: Stack, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(poller, "HIDDEN_FOR", 2)
    stack.s3.put_object(Bucket=stack.staging, Key="lost/receive.txt", Body=b"r")
    handled: list[Any] = []
    queue = poller.QueuePoller(
        client("sqs", endpoint_url=proxy.url), stack.queue_url, handled.append
    )
    lost = proxy.lose_response("ReceiveMessage", lambda r: r.operation == "ReceiveMessage", times=1)

    deadline = time.monotonic() + 30  # far below the queue's own 180 s
    while not handled and time.monotonic() < deadline:
        queue.poll(wait_seconds=0)
        time.sleep(0.2)

    assert lost.fired == 1
    assert [m.versions[0].key for m in handled] == ["lost/receive.txt"]
    assert not stack.receive_all(wait=0.5)  # handled once, and deleted
