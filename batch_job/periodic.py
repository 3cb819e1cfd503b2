"""A daemon thread that calls `tick` every few seconds while a job runs, for the people watching
it (log lines, the ledger's percent); a failing tick is logged, never raised into the job."""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod

logger = logging.getLogger(__name__)


class Periodic(ABC):
    """Use as a context manager around the work; subclasses define `tick`."""

    name = "periodic"

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @abstractmethod
    def tick(self) -> None:
        """What to do each interval."""

    def __enter__(self) -> Periodic:
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except Exception:  # progress is for people: the job goes on without it
                logger.exception("%s failed", self.name)
