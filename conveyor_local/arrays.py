"""One array job as the local executor runs it: its children handed out one index at a time, and
the parent's status following theirs as Batch's does.

A 10,000-child array is one object here, not 10,000 queued jobs: `take` gives the next index when
a worker is free, and only children that have started hold any state (what DescribeJobs says of
them). The parent is SUCCEEDED when every child succeeded, FAILED when any failed, and only after
the last child ended.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

CHILD_STATUSES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")
FINAL = ("SUCCEEDED", "FAILED")


def child_id(parent_id: str, index: int) -> str:
    """Batch names a child `<parent job id>:<index>`."""
    return f"{parent_id}:{index}"


def split_child_id(job_id: str) -> tuple[str, int] | None:
    """(parent job id, index) of a child's id; None for any other job id (a UUID has no colon)."""
    parent, colon, index = job_id.rpartition(":")
    if not colon or not index.isdigit():
        return None
    return parent, int(index)


def array_size(job: Mapping[str, Any]) -> int | None:
    """The number of children of a job DescribeJobs calls an array parent, else None."""
    size = (job.get("arrayProperties") or {}).get("size")
    return int(size) if size else None


@dataclass(frozen=True)
class ChildState:
    """What a child's last event said: enough to say it again for DescribeJobs."""

    status: str
    attempts: tuple[Mapping[str, Any], ...] = ()
    detail: Mapping[str, Any] = field(default_factory=dict)
    """`state_change`'s keyword arguments for that event (reason, times, exit code, log)."""


@dataclass
class ArrayRun:
    parent: dict[str, Any]
    """The parent as DescribeJobs described it, with its container command resolved."""
    size: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    """Held while a parent's state changes and its event is delivered, so they arrive in order."""
    taken: int = 0
    ended: int = 0
    status: str = "PENDING"
    """The parent's status."""
    detail: dict[str, Any] = field(default_factory=dict)
    """The parent's last event's keyword arguments."""
    children: dict[int, ChildState] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.counts = {status: 0 for status in CHILD_STATUSES}
        self.counts["PENDING"] = self.size

    @property
    def job_id(self) -> str:
        return str(self.parent["jobId"])

    @property
    def dispatched(self) -> bool:
        """Every child has been handed out."""
        return self.taken >= self.size

    def take(self) -> int:
        """The next child's index; the caller checks `dispatched` first."""
        index = self.taken
        self.taken += 1
        return index

    def child(self, index: int) -> dict[str, Any]:
        """The child as DescribeJobs would describe it: the parent's job with its own id."""
        job = {k: v for k, v in self.parent.items() if k != "arrayProperties"}
        job["jobId"] = child_id(self.job_id, index)
        job["jobArn"] = child_id(str(self.parent["jobArn"]), index)
        return job

    def child_state(self, index: int) -> ChildState:
        """A child not started yet is PENDING, as Batch shows children waiting for capacity."""
        return self.children.get(index, ChildState("PENDING"))

    def properties(self) -> dict[str, Any]:
        """The parent's `arrayProperties`: its size and its children's statuses now."""
        return {"size": self.size, "statusSummary": dict(self.counts)}

    def move(
        self,
        index: int,
        status: str,
        attempts: Sequence[Mapping[str, Any]],
        detail: Mapping[str, Any],
        *,
        ended: bool = False,
    ) -> str | None:
        """Record a child's new state (`ended`: its run is over, whatever its state); return the
        parent's new status when this changes it. Call with `lock` held."""
        previous = self.child_state(index).status
        self.counts[previous] -= 1
        self.counts[status] += 1
        self.children[index] = ChildState(status, tuple(dict(a) for a in attempts), dict(detail))
        if ended or status in FINAL:
            self.ended += 1
        if self.ended >= self.size and self.status not in FINAL:
            self.status = "SUCCEEDED" if self.counts["SUCCEEDED"] == self.size else "FAILED"
            return self.status
        if status == "RUNNING" and self.status == "PENDING":
            self.status = "RUNNING"
            return self.status
        return None
