"""The API's settings, read once at cold start; a missing or invalid one fails the init."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from conveyor import settings
from conveyor.errors import ConfigError

MULTIPART_THRESHOLD = "CONVEYOR_WEB_MULTIPART_THRESHOLD"
"""Bytes above which a browser uploads in parts with scoped credentials (default 100 MiB)."""
PART_SIZE = "CONVEYOR_WEB_PART_SIZE"
"""The browser's part size in bytes (default 16 MiB, at least 5 MiB)."""
MIB = 1024**2
DEFAULT_THRESHOLD = 100 * MIB
DEFAULT_PART_SIZE = 16 * MIB
MIN_PART_SIZE = 5 * MIB
"""S3's smallest part (but the last)."""
MAX_SINGLE_PUT = 5 * 1024**3
"""S3's largest single PUT, and its largest part."""


@dataclass(frozen=True)
class WebConfig:
    staging_bucket: str
    ledger_table: str
    upload_role_arn: str
    job_queue: str
    job_definition: str
    origin: str
    """The page's origin, the one the API's CORS allows."""
    multipart_threshold: int = DEFAULT_THRESHOLD
    part_size: int = DEFAULT_PART_SIZE

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WebConfig:
        values = settings.require(
            (
                settings.STAGING_BUCKET,
                settings.LEDGER_TABLE,
                settings.UPLOAD_ROLE_ARN,
                settings.JOB_QUEUE,
                settings.JOB_DEFINITION,
                settings.WEB_ORIGIN,
            ),
            environ,
        )
        threshold = _bytes(environ, MULTIPART_THRESHOLD, DEFAULT_THRESHOLD, 1, MAX_SINGLE_PUT)
        part = _bytes(environ, PART_SIZE, DEFAULT_PART_SIZE, MIN_PART_SIZE, MAX_SINGLE_PUT)
        return cls(
            staging_bucket=values[settings.STAGING_BUCKET],
            ledger_table=values[settings.LEDGER_TABLE],
            upload_role_arn=values[settings.UPLOAD_ROLE_ARN],
            job_queue=values[settings.JOB_QUEUE],
            job_definition=values[settings.JOB_DEFINITION],
            origin=values[settings.WEB_ORIGIN].rstrip("/"),
            multipart_threshold=threshold,
            part_size=part,
        )


def _bytes(
    environ: Mapping[str, str] | None, name: str, default: int, least: int, most: int
) -> int:
    raw = settings.optional(name, environ)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as err:
        raise ConfigError(f"{name} must be a whole number of bytes, got {raw!r}") from err
    if not least <= value <= most:
        raise ConfigError(f"{name} must be from {least} to {most} bytes, got {value}")
    return value
