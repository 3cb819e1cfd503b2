"""`conveyor presign` and `conveyor credentials`: let someone upload one object, nothing more."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated

import typer

from conveyor import settings
from conveyor.aws import client
from conveyor.operations import policy_json, upload_policy


def presign(
    key: Annotated[str, typer.Argument(help="Key in the staging bucket.")],
    content_type: Annotated[str, typer.Option(help="The only Content-Type the upload may use.")],
    expires: Annotated[int, typer.Option(min=1, max=604800, help="Seconds it stays valid.")] = 3600,
    max_size: Annotated[
        int | None, typer.Option(min=1, help="Largest upload in bytes (makes a presigned POST).")
    ] = None,
) -> None:
    """Print a presigned PUT URL bound to the key, content type and expiry (JSON for a POST).

    Example: [bold]conveyor presign videos/cat.mov --content-type video/quicktime --expires 900[/]
    With --max-size, prints a presigned POST ({"url", "fields"}) limited by content-length-range.
    """
    bucket = settings.require([settings.STAGING_BUCKET])[settings.STAGING_BUCKET]
    s3 = client("s3")  # Signature V4: the Content-Type is signed into the URL
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
    duration: Annotated[int, typer.Option(min=900, max=43200, help="Seconds they last.")] = 3600,
) -> None:
    """Print temporary credentials (JSON) that can upload to one key only, multipart included.

    Example: [bold]conveyor credentials videos/cat.mov --duration 3600[/]
    The session policy allows s3:PutObject (and aborting and listing its multipart parts) on that
    object's ARN and nothing else; the role is CONVEYOR_UPLOAD_ROLE_ARN.
    """
    values = settings.require([settings.STAGING_BUCKET, settings.UPLOAD_ROLE_ARN])
    bucket = values[settings.STAGING_BUCKET]
    policy = upload_policy(bucket, key)
    sts = client("sts")
    session = "conveyor-upload-" + hashlib.sha256(key.encode()).hexdigest()[:16]
    granted = sts.assume_role(
        RoleArn=values[settings.UPLOAD_ROLE_ARN],
        RoleSessionName=session,
        Policy=policy_json(policy),
        DurationSeconds=duration,
    )["Credentials"]
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
                "policy": policy,
            },
            indent=2,
        )
    )
