"""Events delivered one at a time, in the order they were put, by a thread of their own.

EventBridge delivers Batch's state changes while the job goes on; delivering them on the job's
own worker thread made each job slot wait for the completion handler's ledger writes (four
events before the process starts, one after), time in which no job ran.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

Deliver = Callable[[dict[str, Any]], None]


class Outbox:
    def __init__(self, deliver: Deliver) -> None:
        self._deliver = deliver
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="job-events", daemon=True)
        self._thread.start()

    def put(self, event: dict[str, Any]) -> None:
        self._queue.put(event)

    def drained(self) -> bool:
        """Every event put so far has been delivered (or its delivery failed and was logged)."""
        return self._queue.unfinished_tasks == 0

    def close(self, timeout: float) -> None:
        """Deliver what is queued (for at most `timeout` seconds), then stop."""
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while (event := self._queue.get()) is not None:
            try:
                self._deliver(event)
            except Exception:
                detail = event.get("detail", {})
                logger.exception(
                    "delivering %s for job %s failed", detail.get("status"), detail.get("jobId")
                )
            finally:
                self._queue.task_done()
        self._queue.task_done()
