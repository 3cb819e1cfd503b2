"""`conveyor presign` and `conveyor credentials`: let someone upload one object, nothing more."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from conveyor import settings
from conveyor.access import assume_upload_role
from conveyor.aws import client, presigning_client
from conveyor.errors import ConveyorError
from conveyor.operations import MAX_CHAINED_SESSION, upload_policy, upload_tag

PRESIGN_DEFAULT = 900
"""Seconds a presigned upload stays valid unless told: long enough to start an upload."""
PRESIGN_MAX = 3600
"""Seconds: a presigned URL is a bearer key to the bucket; an hour bounds a leaked one."""


def at_most(option: str, value: int, limit: int, why: str) -> None:
    """Refuse `value` above `limit` in one line (typer's own range check prints a usage box)."""
    if value > limit:
        raise ConveyorError(f"{option} {value} is too long: at most {limit} seconds ({why})")


def presign(
    key: Annotated[str, typer.Argument(help="Key in the staging bucket.")],
    content_type: Annotated[str, typer.Option(help="The only Content-Type the upload may use.")],
    expires: Annotated[
        int, typer.Option(min=1, help=f"Seconds it stays valid, at most {PRESIGN_MAX}.")
    ] = PRESIGN_DEFAULT,
    max_size: Annotated[
        int | None, typer.Option(min=1, help="Largest upload in bytes (makes a presigned POST).")
    ] = None,
) -> None:
    """Print a presigned PUT URL bound to the key, content type and expiry (JSON for a POST).

    Example: [bold]conveyor presign videos/cat.mov --content-type video/quicktime --expires 900[/]
    With --max-size, prints a presigned POST ({"url", "fields"}) limited by content-length-range.
    """
    at_most("--expires", expires, PRESIGN_MAX, "a presigned URL is a bearer key")
    bucket = settings.require([settings.STAGING_BUCKET])[settings.STAGING_BUCKET]
    s3: Any = presigning_client()  # Signature V4: the Content-Type is signed into the URL
    if max_size is None:
        url = s3.generate_presigned_url(
            "put_object",
            Params={"Bucket": bucket, "Key": key, "ContentType": content_type},
            ExpiresIn=expires,
        )
        typer.echo(url)
        return
    post = s3.generate_presigned_post(
        Bucket=bucket,
        Key=key,
        Fields={"Content-Type": content_type},
        Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_size]],
        ExpiresIn=expires,
    )
    typer.echo(json.dumps(post, indent=2))


def credentials(
    key: Annotated[str, typer.Argument(help="The one key in the staging bucket they may write.")],
    duration: Annotated[
        int, typer.Option(min=900, help=f"Seconds they last, at most {MAX_CHAINED_SESSION}.")
    ] = MAX_CHAINED_SESSION,
) -> None:
    """Print temporary credentials (JSON) that can upload to one key only, multipart included.

    Example: [bold]conveyor credentials videos/cat.mov --duration 3600[/]
    The session policy allows s3:PutObject (and aborting and listing its multipart parts) on that
    object's ARN and nothing else; the role is CONVEYOR_UPLOAD_ROLE_ARN. The session tag
    conveyor-prefix (the key, or its longest prefix a tag can hold) bounds the role's own policy.
    """
    at_most("--duration", duration, MAX_CHAINED_SESSION, "STS's limit for a chained role")
    upload_tag(key)  # a key no session tag can bound is refused before any setting is read
    values = settings.require([settings.STAGING_BUCKET, settings.UPLOAD_ROLE_ARN])
    bucket = values[settings.STAGING_BUCKET]
    sts = client("sts")
    granted = assume_upload_role(
        sts, role_arn=values[settings.UPLOAD_ROLE_ARN], bucket=bucket, key=key, duration=duration
    )
    typer.echo(
        json.dumps(
            {
                "access_key_id": granted["AccessKeyId"],
                "secret_access_key": granted["SecretAccessKey"],
                "session_token": granted["SessionToken"],
                "expiration": granted["Expiration"].isoformat(),
                "region": sts.meta.region_name,
                "bucket": bucket,
                "key": key,
                "policy": upload_policy(bucket, key),
            },
            indent=2,
        )
    )
