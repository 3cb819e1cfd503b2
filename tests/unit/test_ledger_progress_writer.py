"""The worker's progress writer: at most one write a tick, only of a changed percent, and a write
that did not land is tried again."""

from __future__ import annotations

import threading
import time

from batch_job.ledger_progress import LedgerProgress
from batch_job.progress import Progress


class Writes:
    def __init__(self, *landing: bool) -> None:
        self.landing = list(landing)
        self.calls: list[float] = []

    def __call__(self, percent: float) -> bool:
        self.calls.append(percent)
        return self.landing.pop(0) if self.landing else True


def test_a_percent_is_written_once_and_retried_until_it_lands() -> None:
    progress = Progress(total_bytes=100, interval=60)
    writes = Writes(False, False)  # the RUNNING event has not reached the ledger yet
    writer = LedgerProgress(progress, writes, interval=60)
    progress.read(10)
    writer.tick()
    writer.tick()
    writer.tick()
    assert writes.calls == [10.0, 10.0, 10.0]  # tried again until it landed
    writer.tick()
    assert writes.calls == [10.0, 10.0, 10.0]  # landed: the same percent is not written again
    progress.read(40)
    writer.tick()
    assert writes.calls[-1] == 50.0


def test_the_thread_writes_every_interval_and_survives_a_failing_write() -> None:
    progress = Progress(total_bytes=100, interval=60)
    calls: list[float] = []
    wrote = threading.Event()

    def flaky(percent: float) -> bool:
        calls.append(percent)
        if len(calls) == 1:
            raise RuntimeError("the ledger is down")
        wrote.set()
        return True

    progress.read(30)
    with LedgerProgress(progress, flaky, interval=0.01):
        assert wrote.wait(5)
    stopped = len(calls)
    time.sleep(0.05)
    assert len(calls) == stopped  # the thread ended with the block
    assert calls[:2] == [30.0, 30.0]  # the failed write was tried again
