"""The job's percent on its ledger entry, for people watching the file (the web page, `conveyor
show`): written from a thread at most every few seconds, never in the job's way."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from batch_job.progress import Progress

logger = logging.getLogger(__name__)

Write = Callable[[float], bool]
"""Records a percent; False when it did not land (see `Recorder.progress`). Never raises."""


class LedgerProgress:
    """Every `interval` seconds, writes the percent if it changed since the last write that
    landed; a write that did not land is tried again at the next tick (on AWS the RUNNING event
    may reach the ledger after the job started)."""

    def __init__(self, progress: Progress, write: Write, interval: float) -> None:
        self._progress = progress
        self._write = write
        self._interval = interval
        self._written: float | None = None
        self._landing = True
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> None:
        """One write, if the percent moved: what the thread does each interval."""
        percent = float(self._progress.snapshot()["percent"])
        if percent == self._written:
            return
        landed = self._write(percent)
        if landed:
            self._written = percent
        elif self._landing:  # said once per change, not every few seconds
            logger.info("progress not recorded: the ledger entry is not this job's RUNNING one")
        self._landing = landed

    def __enter__(self) -> LedgerProgress:
        self._thread = threading.Thread(target=self._loop, name="ledger-progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.tick()
            except Exception:  # progress is for people: the job goes on without it
                logger.exception("progress for the ledger failed")
