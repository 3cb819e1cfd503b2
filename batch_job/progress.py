"""Periodic progress lines a person can follow in CloudWatch: bytes, percent, MB/s."""

from __future__ import annotations

import logging
import threading
import time

from batch_job.periodic import Periodic

logger = logging.getLogger("batch_job.progress")


class Progress(Periodic):
    """Counters updated by readers and writers, logged every `interval` seconds by a thread."""

    name = "progress"

    def __init__(self, total_bytes: int, interval: float) -> None:
        super().__init__(interval)
        self.total = total_bytes
        self.bytes_read = 0
        self.bytes_written = 0
        self._fraction: float | None = None
        self._started = time.monotonic()
        self._lock = threading.Lock()

    def read(self, n: int) -> None:
        with self._lock:
            self.bytes_read += n

    def written(self, n: int) -> None:
        with self._lock:
            self.bytes_written += n

    def set_fraction(self, fraction: float) -> None:
        """For transforms that know their progress otherwise (ffmpeg's output time)."""
        self._fraction = max(0.0, min(fraction, 1.0))

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def snapshot(self) -> dict[str, float | int]:
        elapsed = max(self.elapsed, 1e-9)
        fraction = self._fraction
        if fraction is None and self.total:
            fraction = min(self.bytes_read / self.total, 1.0)
        return {
            "bytes_read": self.bytes_read,
            "bytes_written": self.bytes_written,
            "total_bytes": self.total,
            "percent": round(100 * fraction, 1) if fraction is not None else 0.0,
            "read_mb_per_s": round(self.bytes_read / elapsed / 1e6, 2),
            "write_mb_per_s": round(self.bytes_written / elapsed / 1e6, 2),
            "elapsed_s": round(elapsed, 2),
        }

    def tick(self) -> None:
        logger.info("progress", extra={"progress": self.snapshot()})
