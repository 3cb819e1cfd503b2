"""The job's percent on its ledger entry, for people watching the file (the web page, `conveyor
show`): written from a thread at most every few seconds, never in the job's way."""

from __future__ import annotations

import logging
from collections.abc import Callable

from batch_job.periodic import Periodic
from batch_job.progress import Progress

logger = logging.getLogger(__name__)

Write = Callable[[float], bool]
"""Records a percent; False when it did not land (see `Recorder.progress`). Never raises."""


class LedgerProgress(Periodic):
    """Every `interval` seconds, writes the percent if it changed since the last write that
    landed; a write that did not land is tried again at the next tick (on AWS the RUNNING event
    may reach the ledger after the job started)."""

    name = "ledger-progress"

    def __init__(self, progress: Progress, write: Write, interval: float) -> None:
        super().__init__(interval)
        self._progress = progress
        self._write = write
        self._written: float | None = None
        self._landing = True

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
