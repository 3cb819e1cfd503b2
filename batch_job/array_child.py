"""An array job's child: its job spec is record AWS_BATCH_JOB_ARRAY_INDEX of the manifest the
array was given (`--manifest s3://...`); then it runs exactly as an ordinary job.

Two range GETs (header, record), never the whole manifest. A missing or impossible index, or a
malformed manifest, can never succeed (exit 65); S3 failing to answer may pass (exit 75).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from batch_job.config import ARRAY_INDEX
from batch_job.errors import Transient
from conveyor.errors import BadEvent
from conveyor.jobs import JobSpec
from conveyor.manifest import ManifestError, ManifestReader


def child_spec(s3: Any, manifest: str, environ: Mapping[str, str]) -> JobSpec:
    """The spec of this child: BadInput (ManifestError) or Transient, each with one clear line."""
    raw = environ.get(ARRAY_INDEX, "")
    if not raw.isdigit():
        raise ManifestError(
            f"--manifest is an array job's, but {ARRAY_INDEX} is {raw or 'not set'}: "
            "only Batch's array children run with a manifest"
        )
    try:
        parameters = ManifestReader(s3).record(manifest, int(raw))
    except (ClientError, BotoCoreError) as err:
        raise Transient(f"could not read record {raw} of {manifest}: {err}") from err
    if parameters.get("manifest"):
        raise ManifestError(f"record {raw} of {manifest} names a manifest itself")
    try:
        return JobSpec.from_parameters(parameters)
    except BadEvent as err:
        raise ManifestError(f"record {raw} of {manifest}: {err}") from err
