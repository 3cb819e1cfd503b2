"""Operator decisions, pure: what may be resubmitted, what is stranded, what an upload may touch."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from conveyor.errors import ConveyorError
from conveyor.ledger.entries import Entry
from conveyor.status import Status

UPLOAD_ACTIONS = ("s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts")
"""PutObject also covers CreateMultipartUpload, UploadPart and CompleteMultipartUpload."""
UPLOAD_PREFIX_TAG = "conveyor-prefix"
"""The session tag that bounds the upload role's own policy to keys starting with its value, so
credentials issued without the one-key session policy still cannot write anywhere else."""
MAX_CHAINED_SESSION = 3600
"""Seconds: STS caps a session assumed with another role's credentials (role chaining) at one
hour, whatever the role's maximum; the upload role's maximum is the same hour."""
_TAG_VALUE = re.compile(r"[\w .:/=+\-@]{0,256}")
"""What a session tag's value may hold (letters and digits of any script, spaces, _.:/=+-@), at
most 256 characters; `*`, `?` and `$` never, so the value cannot act as a wildcard."""


def refusal(entry: Entry, in_staging: bool) -> str | None:
    """Why a version cannot be resubmitted, or None when it can."""
    if entry.status is not Status.FAILED:
        return f"it is {entry.status or 'not submitted yet'}, not FAILED"
    if not in_staging:
        return "its original is no longer in staging (see `conveyor reprocess`)"
    return None


def stranded_reason(entry: Entry | None, modified: datetime, cutoff: datetime) -> str | None:
    """Why a staging version older than `cutoff` still waits there, or None if it is in hand."""
    if modified >= cutoff:
        return None
    if entry is None:
        return "no job: the trigger never saw it"
    if entry.status is None and not entry.job_id:
        return f"no job: {entry.get('last_error') or 'its claim was never completed'}"
    if entry.status is Status.FAILED:
        return f"its job failed: {entry.error or entry.reason}".rstrip(": ")
    if entry.status is Status.SKIPPED:
        return f"skipped: {entry.reason or 'no route'}"
    return None


def upload_policy(bucket: str, key: str) -> dict[str, Any]:
    """A session policy allowing the upload of exactly one object.

    `*` and `?` in a key would be wildcards in an ARN; IAM writes them literally as ${*} and ${?}.
    """
    literal = key.replace("$", "${$}").replace("*", "${*}").replace("?", "${?}")
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "UploadOneObject",
                "Effect": "Allow",
                "Action": list(UPLOAD_ACTIONS),
                "Resource": f"arn:aws:s3:::{bucket}/{literal}",
            }
        ],
    }


def upload_tag(key: str) -> str:
    """The session tag's value for an upload of `key`: the longest prefix of it a tag can hold.

    The role's policy then allows `<value>*`, which covers the key; the session policy narrows
    that to the key itself.
    """
    match = _TAG_VALUE.match(key)
    prefix = match.group() if match else ""
    if not prefix:
        raise ConveyorError(
            f"key {key!r} cannot be bounded by the upload role's session tag: it must start "
            "with a letter, a digit, a space or one of _.:/=+-@"
        )
    return prefix


def policy_json(policy: Mapping[str, Any]) -> str:
    return json.dumps(policy, separators=(",", ":"))
