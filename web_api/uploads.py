"""`POST /uploads`: a key of the person's own, and the means to write that key and no other: a
presigned PUT for a small file, scoped credentials for a multipart upload of a large one."""

from __future__ import annotations

import math
from typing import Any

from conveyor.access import assume_upload_role
from web_api.auth import User
from web_api.config import MIB
from web_api.errors import NotFound
from web_api.factory import Services
from web_api.keys import file_prefix, new_file_id, upload_key
from web_api.validation import UploadRequest

PUT_SECONDS = 15 * 60
"""A presigned PUT is a bearer key to one object: long enough to start the upload, no longer."""
MAX_PARTS = 10_000
"""S3's most parts in one upload: a larger file needs larger parts."""


def start_upload(request: UploadRequest, user: User, services: Services) -> dict[str, Any]:
    """A new file id and key for `request`, and the means to upload it."""
    config = services.config
    file_id = new_file_id(services.clock())
    key = upload_key(user.sub, file_id, request.name)
    answer: dict[str, Any] = {
        "id": file_id,
        "key": key,
        "name": key.rsplit("/", 1)[1],
        "bucket": config.staging_bucket,
        "region": services.presigner.meta.region_name,
        "multipart": request.size > config.multipart_threshold,
    }
    if not answer["multipart"]:
        answer["put"] = {
            "url": services.presigner.generate_presigned_url(
                "put_object",
                Params={"Bucket": config.staging_bucket, "Key": key, "ContentType": request.type},
                ExpiresIn=PUT_SECONDS,
            ),
            "headers": {"Content-Type": request.type},
        }
        return answer
    answer["credentials"] = credentials_for(key, services)
    answer["partSize"] = part_size(request.size, config.part_size)
    return answer


def renew_credentials(file_id: str, user: User, services: Services) -> dict[str, Any]:
    """Fresh credentials for a multipart upload still open under the person's file (STS gives a
    chained role one hour; a large upload takes longer). NotFound when none is open."""
    try:
        prefix = file_prefix(user.sub, file_id)
    except ValueError as err:
        raise NotFound("No upload in progress for this file.") from err
    bucket = services.config.staging_bucket
    listing = services.s3.list_multipart_uploads(Bucket=bucket, Prefix=prefix)
    keys = sorted({u["Key"] for u in listing.get("Uploads", []) if u["Key"].startswith(prefix)})
    if len(keys) != 1:  # the credentials allowed one key under the prefix: more is not ours
        raise NotFound("No upload in progress for this file.")
    return {
        "id": file_id,
        "key": keys[0],
        "bucket": bucket,
        "region": services.presigner.meta.region_name,
        "credentials": credentials_for(keys[0], services),
    }


def credentials_for(key: str, services: Services) -> dict[str, str]:
    """Temporary credentials that can write `key` and nothing else (conveyor.access)."""
    granted = assume_upload_role(
        services.sts,
        role_arn=services.config.upload_role_arn,
        bucket=services.config.staging_bucket,
        key=key,
    )
    return {
        "accessKeyId": granted["AccessKeyId"],
        "secretAccessKey": granted["SecretAccessKey"],
        "sessionToken": granted["SessionToken"],
        "expiration": granted["Expiration"].isoformat(),
    }


def part_size(size: int, configured: int) -> int:
    """The configured part size, or the smallest whole MiB that keeps `size` within S3's
    10,000 parts."""
    needed = math.ceil(size / MAX_PARTS / MIB) * MIB
    return max(configured, needed)
