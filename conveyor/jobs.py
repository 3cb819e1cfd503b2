"""What a Batch job for one object version is called and what it is given: pure, shared by the
trigger and the operator commands that resubmit."""

from __future__ import annotations

import hashlib
import re

from conveyor.objects import ObjectVersion
from conveyor.routing import Route

JOB_NAME_MAX = 128
"""Batch: at most 128 letters, digits, hyphens, underscores; the first a letter or digit."""

PARAMETERS = ("bucket", "key", "version_id", "etag", "sequencer", "transform", "output_key")
"""The job parameters; the job definition passes each to `python -m batch_job` with `Ref::`."""

ENTRYPOINT = ("python", "-m", "batch_job")
"""The worker image's entry point; the job definition's command supplies the flags."""

COMMAND = tuple(
    part for name in PARAMETERS for part in (f"--{name.replace('_', '-')}", f"Ref::{name}")
)
"""The job definition's command: every parameter as a flag, filled in by Batch."""

DEFAULT_PARAMETERS = {name: "" for name in PARAMETERS}
"""Job definition defaults, so a `Ref::` never stays unresolved when a parameter is absent."""

RETRY_ATTEMPTS = 3
"""Attempts per job: retried on a Spot reclaim (`Host EC2*`) and on exit 75, on nothing else."""
RETRY_EXIT_CODE = 75


def command_line(command: list[str] | tuple[str, ...], parameters: dict[str, str]) -> list[str]:
    """Substitute `Ref::name` as Batch does: a parameter the job lacks keeps the literal."""
    return [
        parameters.get(part[len("Ref::") :], part) if part.startswith("Ref::") else part
        for part in command
    ]


def job_name(version: ObjectVersion, transform: str) -> str:
    """Readable, valid and distinct: the key's tail, the transform, a digest of the version."""
    digest = hashlib.sha256(f"{version.bucket}/{version.key}\0{version.ref}".encode()).hexdigest()
    suffix = f"-{_clean(transform)[:24]}-{digest[:12]}"
    tail = _clean(version.key.rsplit("/", 1)[-1]) or "object"
    name = f"{tail[: JOB_NAME_MAX - len(suffix)]}{suffix}"
    return name if name[0].isalnum() else f"j{name[: JOB_NAME_MAX - 1]}"


def job_parameters(version: ObjectVersion, route: Route) -> dict[str, str]:
    """Every parameter is a string; absent values are empty so `Ref::` always resolves."""
    return {
        "bucket": version.bucket,
        "key": version.key,
        "version_id": version.version_id or "",
        "etag": version.etag,
        "sequencer": version.sequencer or "",
        "transform": route.transform,
        "output_key": route.output_key or "",
    }


def _clean(text: str) -> str:
    """Letters and digits kept (accents dropped), every other run of characters one hyphen."""
    ascii_text = text.encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9_]+", "-", ascii_text).strip("-_")
