"""`/config.json`: what the page needs to know about where it runs (the contract the AWS stack's
own `config.json` follows too)."""

from __future__ import annotations

from typing import Any

from conveyor_local.web.event import PREFIX


def local_config(*, s3_endpoint: str, region: str, bucket: str) -> dict[str, Any]:
    """The page's settings on the local stack: the API under `/api` of the page's own origin,
    sign-in by name and password (`/api/session`), uploads straight to moto's S3 by path."""
    return {
        "api": PREFIX,
        "auth": {"mode": "local"},
        "s3": {
            "endpoint": s3_endpoint.rstrip("/"),
            "region": region,
            "bucket": bucket,
            "forcePathStyle": True,
        },
    }
