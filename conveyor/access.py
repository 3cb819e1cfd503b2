"""Temporary credentials that can upload one object and nothing more: `conveyor credentials` and
the web API's multipart uploads get them the same way."""

from __future__ import annotations

import hashlib
from typing import Any

from conveyor.operations import (
    MAX_CHAINED_SESSION,
    UPLOAD_PREFIX_TAG,
    policy_json,
    upload_policy,
    upload_tag,
)


def assume_upload_role(
    sts: Any, *, role_arn: str, bucket: str, key: str, duration: int = MAX_CHAINED_SESSION
) -> dict[str, Any]:
    """STS's Credentials for the upload role, narrowed by a session policy to `key` alone and
    bounded by the session tag the role's own policy reads (see `upload_tag`)."""
    tag = upload_tag(key)
    session = "conveyor-upload-" + hashlib.sha256(key.encode()).hexdigest()[:16]
    return sts.assume_role(
        RoleArn=role_arn,
        RoleSessionName=session,
        Policy=policy_json(upload_policy(bucket, key)),
        DurationSeconds=duration,
        Tags=[{"Key": UPLOAD_PREFIX_TAG, "Value": tag}],
    )["Credentials"]
