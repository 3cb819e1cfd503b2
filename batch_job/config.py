"""The worker's settings and the job it was given."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from batch_job.archive import SINGLE_COPY_LIMIT
from batch_job.limits import (
    DEFAULT_DURATION,
    DEFAULT_HEIGHT,
    DEFAULT_OUTPUT_BYTES,
    DEFAULT_WIDTH,
    MAX_DURATION,
    MAX_HEIGHT,
    MAX_OUTPUT_BYTES,
    MAX_WIDTH,
    Limits,
)
from batch_job.parts import DEFAULT_PART_SIZE, MIN_PART_SIZE
from conveyor import settings
from conveyor.errors import ConfigError
from conveyor.jobs import JobSpec

PART_SIZE = "CONVEYOR_PART_SIZE"
"""Smallest output part in bytes (default 8 MiB, at least 5 MiB)."""
SINGLE_COPY = "CONVEYOR_SINGLE_COPY_LIMIT"
"""Largest original archived by one CopyObject (default 5 GB); tests lower it."""
PROGRESS_SECONDS = "CONVEYOR_PROGRESS_SECONDS"
LEDGER_PROGRESS_SECONDS = "CONVEYOR_LEDGER_PROGRESS_SECONDS"
"""Seconds between the job's progress writes to its ledger entry (default 5)."""
JOB_TIMEOUT = settings.JOB_TIMEOUT
DEFAULT_JOB_TIMEOUT = settings.DEFAULT_JOB_TIMEOUT
"""Seconds: the CDK stack's default job timeout, for a worker run without the setting."""
MAX_URL_LIFETIME = 7 * 24 * 3600
"""The longest a Signature V4 presigned URL may be valid."""
JOB_ID = "AWS_BATCH_JOB_ID"
"""Batch's id of this job; an array job's child runs as `<parent id>:<index>`, the id its
ledger entry records."""
JOB_ATTEMPT = "AWS_BATCH_JOB_ATTEMPT"
ARRAY_INDEX = "AWS_BATCH_JOB_ARRAY_INDEX"
"""An array job's child: which manifest record is its job (see batch_job.array_child)."""


@dataclass(frozen=True)
class Job:
    """One run of one job: the spec Batch passed on the command line, and Batch's own facts."""

    spec: JobSpec
    job_id: str = ""
    attempt: int = 1

    @classmethod
    def from_env(cls, spec: JobSpec, environ: Mapping[str, str] | None = None) -> Job:
        """The job Batch runs: `spec`, with the id and attempt Batch put in the environment."""
        env = os.environ if environ is None else environ
        return cls(
            spec=spec,
            job_id=env.get(JOB_ID, ""),
            attempt=int(env.get(JOB_ATTEMPT, "1") or 1),
        )


@dataclass(frozen=True)
class WorkerConfig:
    output_bucket: str
    archive_bucket: str
    ledger_table: str | None
    min_part_size: int = DEFAULT_PART_SIZE
    single_copy_limit: int = SINGLE_COPY_LIMIT
    progress_seconds: float = 10.0
    ledger_progress_seconds: float = 5.0
    limits: Limits = field(default_factory=Limits)
    max_output_bytes: int = DEFAULT_OUTPUT_BYTES
    job_timeout: int = DEFAULT_JOB_TIMEOUT
    """Seconds the job may run (Batch kills it then): the presigned read lives no longer."""

    @property
    def url_lifetime(self) -> int:
        """Seconds a presigned read of the original stays valid: a URL that outlives the job
        would let whoever got it from a log or a core dump read the original after the job."""
        return min(self.job_timeout, MAX_URL_LIFETIME)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WorkerConfig:
        env = os.environ if environ is None else environ
        values = settings.require((settings.OUTPUT_BUCKET, settings.ARCHIVE_BUCKET), env)
        part = _number(env, PART_SIZE, DEFAULT_PART_SIZE)
        if part < MIN_PART_SIZE:
            raise ConfigError(f"{PART_SIZE} must be at least {MIN_PART_SIZE} (S3's minimum part)")
        return cls(
            output_bucket=values[settings.OUTPUT_BUCKET],
            archive_bucket=values[settings.ARCHIVE_BUCKET],
            ledger_table=settings.optional(settings.LEDGER_TABLE, env),
            min_part_size=part,
            single_copy_limit=_number(env, SINGLE_COPY, SINGLE_COPY_LIMIT),
            progress_seconds=_seconds(env, PROGRESS_SECONDS, 10.0),
            ledger_progress_seconds=_seconds(env, LEDGER_PROGRESS_SECONDS, 5.0),
            limits=Limits(
                max_width=_number(env, MAX_WIDTH, DEFAULT_WIDTH),
                max_height=_number(env, MAX_HEIGHT, DEFAULT_HEIGHT),
                max_duration=_seconds(env, MAX_DURATION, DEFAULT_DURATION),
            ),
            max_output_bytes=_number(env, MAX_OUTPUT_BYTES, DEFAULT_OUTPUT_BYTES),
            job_timeout=_number(env, JOB_TIMEOUT, DEFAULT_JOB_TIMEOUT),
        )


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    try:
        value = float(raw) if raw else default
    except ValueError as err:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from err
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {raw!r}")
    return value


def _number(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as err:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from err
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {value}")
    return value
