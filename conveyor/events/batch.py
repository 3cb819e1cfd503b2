"""AWS Batch "Batch Job State Change" events (EventBridge) as `JobStateChange`.

`detail` resembles DescribeJobs' jobDetail and AWS may add fields at any time, so only the fields
read here matter; everything else is ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conveyor.errors import BadEvent
from conveyor.status import TERMINAL, Status

DETAIL_TYPE = "Batch Job State Change"


@dataclass(frozen=True)
class JobStateChange:
    """One state of one job, carrying the object version it works on in `parameters`."""

    job_id: str
    status: Status
    parameters: Mapping[str, str]
    job_name: str = ""
    job_queue: str = ""
    job_definition: str = ""
    status_reason: str = ""
    created_at: int | None = None
    """When Batch created the job (epoch ms): orders different jobs of one version."""
    started_at: int | None = None
    stopped_at: int | None = None
    attempt: int = 1
    """The attempt this state belongs to, from 1; a retry outranks the attempt before it."""
    exit_code: int | None = None
    log_stream: str = ""
    array_index: int | None = None
    """An array job's child: its index (its version is manifest record `array_index`)."""
    array_size: int | None = None
    """An array job's parent: how many children it has. The parent runs nothing itself."""

    @property
    def manifest(self) -> str | None:
        """The manifest of an array job (parent or child); None for an ordinary job."""
        return self.parameters.get("manifest") or None

    @property
    def is_array_parent(self) -> bool:
        """The parent of an array job: it names no version itself (its children do)."""
        return self.array_index is None and (
            self.array_size is not None or self.manifest is not None
        )

    @property
    def bucket(self) -> str | None:
        return self.parameters.get("bucket") or None

    @property
    def key(self) -> str | None:
        return self.parameters.get("key") or None


def parse_job_state_change(event: Mapping[str, Any]) -> JobStateChange:
    """Parse the EventBridge event; BadEvent when it is no job state change at all."""
    if event.get("detail-type") != DETAIL_TYPE or event.get("source") != "aws.batch":
        raise BadEvent(
            f"not a {DETAIL_TYPE!r} event: "
            f"{event.get('detail-type')!r} from {event.get('source')!r}"
        )
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise BadEvent("event has no detail object")
    try:
        status = Status(detail["status"])
        job_id = detail["jobId"]
    except (KeyError, ValueError) as err:
        raise BadEvent(f"job state change without a known status or job id: {err!r}") from err
    attempts = [a for a in detail.get("attempts") or [] if isinstance(a, Mapping)]
    container = detail.get("container") or {}
    last = (attempts[-1].get("container") or {}) if attempts else {}
    exit_code = container.get("exitCode", last.get("exitCode"))
    parameters = detail.get("parameters") or {}
    array = detail.get("arrayProperties") or {}
    return JobStateChange(
        job_id=job_id,
        status=status,
        parameters={str(k): str(v) for k, v in parameters.items()},
        job_name=detail.get("jobName", ""),
        job_queue=detail.get("jobQueue", ""),
        job_definition=detail.get("jobDefinition", ""),
        status_reason=detail.get("statusReason") or _last_reason(attempts),
        created_at=_millis(detail.get("createdAt")),
        started_at=_millis(detail.get("startedAt")),
        stopped_at=_millis(detail.get("stoppedAt")),
        attempt=attempt_number(status, len(attempts)),
        exit_code=int(exit_code) if exit_code is not None else None,
        log_stream=container.get("logStreamName") or last.get("logStreamName") or "",
        array_index=_integer(array.get("index")),
        array_size=_integer(array.get("size")),
    )


def attempt_number(status: Status, finished_attempts: int) -> int:
    """Batch lists only finished attempts: a job still in flight is on the one after them."""
    if status in TERMINAL:
        return max(finished_attempts, 1)
    return finished_attempts + 1


def _last_reason(attempts: list[Mapping[str, Any]]) -> str:
    return str(attempts[-1].get("statusReason", "")) if attempts else ""


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _millis(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
