"""The job contract: what one Batch job for one object version is given, how it is named, how it
ends and when Batch retries it. The trigger, the operator commands, the worker, the ledger, the
local stack and the CDK stack all read it from here.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from conveyor.errors import BadEvent
from conveyor.objects import ObjectVersion

if TYPE_CHECKING:  # the worker, which never routes, need not load the routing rules
    from conveyor.routing import Route

JOB_NAME_MAX = 128
"""Batch: at most 128 letters, digits, hyphens, underscores; the first a letter or digit."""

PARAMETERS = (
    "bucket",
    "key",
    "version_id",
    "etag",
    "size",
    "sequencer",
    "transform",
    "output_key",
    "argv",
    "manifest",
)
"""The job parameters; the job definition passes each to `python -m batch_job` with `Ref::`.
`manifest` is empty for an ordinary job; an array job has only it (see `array_parameters`)."""

ENTRYPOINT = ("python", "-m", "batch_job")
"""The worker image's entry point; the job definition's command supplies the flags."""

COMMAND = tuple(
    part for name in PARAMETERS for part in (f"--{name.replace('_', '-')}", f"Ref::{name}")
)
"""The job definition's command: every parameter as a flag, filled in by Batch."""

DEFAULT_PARAMETERS = {name: "" for name in PARAMETERS}
"""Job definition defaults, so a `Ref::` never stays unresolved when a parameter is absent."""

ARRAY_SIZE_MIN = 2
ARRAY_SIZE_MAX = 10_000
"""Batch's bounds on an array job's size: a lone version is submitted as an ordinary job."""
ARRAY_JOB_PREFIX = "conveyor-bulk-"


def array_parameters(manifest: str) -> dict[str, str]:
    """An array job's parameters: the manifest's s3:// URI, every other parameter empty; each
    child reads its own spec from the manifest (conveyor.manifest)."""
    return {**DEFAULT_PARAMETERS, "manifest": manifest}


def array_job_name(bulk_id: str) -> str:
    """Deterministic from the bulk id, so a re-run after a crash finds the array it submitted
    (ListJobs by JOB_NAME) instead of submitting it again."""
    return f"{ARRAY_JOB_PREFIX}{bulk_id}"[:JOB_NAME_MAX]


def child_job_id(parent_job_id: str, index: int) -> str:
    """Batch's id of an array job's child: what the child's events and environment carry."""
    return f"{parent_job_id}:{index}"


EXIT_DONE = 0
"""Done, or superseded by a newer upload (recorded as such)."""
EXIT_BAD_INPUT = 65
"""EX_DATAERR: the input can never succeed (corrupt, empty, unknown transform, gone): no retry."""
EXIT_TRANSIENT = 75
"""EX_TEMPFAIL: throttling, 5xx after retries, network: Batch retries the job."""
EXIT_BUG = 1

RETRY_ATTEMPTS = 3
RETRY_RULES: tuple[dict[str, str], ...] = (
    {"onStatusReason": "Host EC2*", "action": "RETRY"},
    {"onExitCode": str(EXIT_TRANSIENT), "action": "RETRY"},
    {"onReason": "*", "action": "EXIT"},
)
"""The job definition's `evaluateOnExit`, first match wins: a reclaimed Spot instance and exit 75
are retried, nothing else. The CDK stack, the local job definition, the local executor and the
events it emits all read these."""


def retry_strategy() -> dict[str, Any]:
    """As RegisterJobDefinition takes it (and DescribeJobs and the events show it)."""
    return {"attempts": RETRY_ATTEMPTS, "evaluateOnExit": [dict(rule) for rule in RETRY_RULES]}


def retried(exit_code: int | None, status_reason: str, attempt: int) -> bool:
    """Whether Batch starts another attempt after this one, by the rules above."""
    if attempt >= RETRY_ATTEMPTS:
        return False
    for rule in RETRY_RULES:
        if _matches(rule, exit_code, status_reason):
            return rule["action"] == "RETRY"
    return False


@dataclass(frozen=True)
class JobSpec:
    """Everything one job is given: the pinned version, the transform, where its output goes and
    the command a `command` transform runs. Batch carries it as string parameters, so the route
    that chose it is never consulted again."""

    version: ObjectVersion
    transform: str
    output_template: str | None = None
    argv: tuple[str, ...] | None = None

    @classmethod
    def for_route(cls, version: ObjectVersion, route: Route) -> JobSpec:
        return cls(version, route.transform, route.output_key, route.argv)

    @property
    def name(self) -> str:
        """Readable, valid and distinct: the key's tail, the transform, a digest of the version."""
        version = self.version
        digest = hashlib.sha256(f"{version.bucket}/{version.key}\0{version.ref}".encode())
        suffix = f"-{_clean(self.transform)[:24]}-{digest.hexdigest()[:12]}"
        tail = _clean(version.key.rsplit("/", 1)[-1]) or "object"
        name = f"{tail[: JOB_NAME_MAX - len(suffix)]}{suffix}"
        return name if name[0].isalnum() else f"j{name[: JOB_NAME_MAX - 1]}"

    def parameters(self) -> dict[str, str]:
        """Batch's parameters: every one a string, absent ones empty so `Ref::` always resolves."""
        version = self.version
        return {
            "bucket": version.bucket,
            "key": version.key,
            "version_id": version.version_id or "",
            "etag": version.etag,
            "size": str(version.size),
            "sequencer": version.sequencer or "",
            "transform": self.transform,
            "output_key": self.output_template or "",
            "argv": json.dumps(list(self.argv)) if self.argv else "",
            "manifest": "",
        }

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, Any]) -> JobSpec:
        """The spec back from Batch's parameters (or a ledger entry's copy of them); BadEvent
        names what is missing or malformed."""
        try:
            version = ObjectVersion(
                bucket=str(parameters["bucket"]),
                key=str(parameters["key"]),
                etag=str(parameters.get("etag") or ""),
                size=int(parameters.get("size") or 0),
                version_id=str(parameters.get("version_id") or "") or None,
                sequencer=str(parameters.get("sequencer") or "") or None,
            )
        except KeyError as err:
            raise BadEvent(f"job parameters lack {err.args[0]!r}") from err
        except ValueError as err:
            raise BadEvent(f"job parameter 'size' is not a number: {err}") from err
        return cls(
            version=version,
            transform=str(parameters.get("transform") or "copy"),
            output_template=str(parameters.get("output_key") or "") or None,
            argv=_argv(parameters.get("argv")),
        )


def command_line(command: Sequence[str], parameters: Mapping[str, str]) -> list[str]:
    """Substitute `Ref::name` as Batch does: a parameter the job lacks keeps the literal."""
    return [
        parameters.get(part[len("Ref::") :], part) if part.startswith("Ref::") else part
        for part in command
    ]


def _argv(raw: Any) -> tuple[str, ...] | None:
    if not raw:
        return None
    try:
        argv = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError as err:
        raise BadEvent(f"job parameter 'argv' is not a JSON list: {err}") from err
    if not isinstance(argv, list) or not all(isinstance(a, str) and a for a in argv):
        raise BadEvent("job parameter 'argv' must be a JSON list of non-empty strings")
    return tuple(argv) or None


def _matches(rule: Mapping[str, str], exit_code: int | None, status_reason: str) -> bool:
    """Batch's glob rules: a trailing `*` matches any rest; exit codes compare as text."""
    if "onExitCode" in rule:
        return exit_code is not None and _glob(rule["onExitCode"], str(exit_code))
    if "onStatusReason" in rule:
        return _glob(rule["onStatusReason"], status_reason)
    return _glob(rule.get("onReason", "*"), status_reason)


def _glob(pattern: str, text: str) -> bool:
    return text.startswith(pattern[:-1]) if pattern.endswith("*") else text == pattern


def _clean(text: str) -> str:
    """Letters and digits kept (accents dropped), every other run of characters one hyphen."""
    ascii_text = text.encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9_]+", "-", ascii_text).strip("-_")
