"""The CONVEYOR_* settings: one name each, shared by the runtimes, local stack and CDK stack."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from conveyor.errors import ConfigError

STAGING_BUCKET = "CONVEYOR_STAGING_BUCKET"
ARCHIVE_BUCKET = "CONVEYOR_ARCHIVE_BUCKET"
OUTPUT_BUCKET = "CONVEYOR_OUTPUT_BUCKET"
STAGING_QUEUE = "CONVEYOR_STAGING_QUEUE"
"""The URL of the SQS queue that receives the staging bucket's notifications."""
LEDGER_TABLE = "CONVEYOR_LEDGER_TABLE"
JOB_QUEUE = "CONVEYOR_JOB_QUEUE"
JOB_DEFINITION = "CONVEYOR_JOB_DEFINITION"
ROUTES = "CONVEYOR_ROUTES"
"""JSON routing rules; optional (the default routes apply when unset)."""
UPLOAD_ROLE_ARN = "CONVEYOR_UPLOAD_ROLE_ARN"
LOG_GROUP = "CONVEYOR_LOG_GROUP"
"""The worker's CloudWatch log group (optional; Batch's default is /aws/batch/job)."""
EVENT_BUS = "CONVEYOR_EVENT_BUS"
"""The EventBridge bus the completion puts "Object Processed" / "Object Failed" on (optional)."""
DEFAULT_EVENT_BUS = "default"
EVENTS_LOG_GROUP = "CONVEYOR_EVENTS_LOG_GROUP"
"""The log group a rule copies those events to: what `conveyor events` reads."""
USER_POOL_ID = "CONVEYOR_USER_POOL_ID"
USER_POOL_CLIENT_ID = "CONVEYOR_USER_POOL_CLIENT_ID"
"""The Cognito user pool the web page signs people in with, and the page's app client."""
WEB_ORIGIN = "CONVEYOR_WEB_ORIGIN"
"""The web page's origin (scheme, host, port): the one origin the API's CORS allows."""
JOB_TIMEOUT = "CONVEYOR_JOB_TIMEOUT"
DEFAULT_JOB_TIMEOUT = 12 * 3600
"""Seconds a job may run: the CDK stack's default (`job_timeout_hours`), the worker's too."""
"""The worker's job timeout in seconds, set by the job definition (not a stack output): the
worker's presigned reads expire with it."""

ALL = (
    STAGING_BUCKET,
    ARCHIVE_BUCKET,
    OUTPUT_BUCKET,
    STAGING_QUEUE,
    LEDGER_TABLE,
    JOB_QUEUE,
    JOB_DEFINITION,
    ROUTES,
    UPLOAD_ROLE_ARN,
    LOG_GROUP,
    EVENTS_LOG_GROUP,
)


def output_name(setting: str) -> str:
    """The stack output carrying a setting: CONVEYOR_STAGING_BUCKET -> ConveyorStagingBucket."""
    return "".join(part.capitalize() for part in setting.split("_"))


def require(names: Iterable[str], environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Read the named settings, failing at once with every missing name, not later with one."""
    env = os.environ if environ is None else environ
    names = list(names)
    missing = [name for name in names if not env.get(name)]
    if missing:
        raise ConfigError(
            f"missing setting{'s' if len(missing) > 1 else ''}: {', '.join(missing)} "
            f"(set {'them' if len(missing) > 1 else 'it'} in the environment, run "
            "`conveyor local up` in another terminal, or name a deployed stack with --stack)"
        )
    return {name: env[name] for name in names}


def optional(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """Read a setting that may be absent or empty."""
    env = os.environ if environ is None else environ
    return env.get(name) or None
