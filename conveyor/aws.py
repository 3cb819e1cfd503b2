"""Building AWS clients at entry points: endpoints come from AWS_ENDPOINT_URL[_<SERVICE>]."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

RETRIES = Config(retries={"mode": "standard", "max_attempts": 5})
"""Standard mode retries throttling (TooManyRequestsException included) and 5xx with backoff."""


def client(service: str, *, session: boto3.session.Session | None = None, **kwargs: Any) -> Any:
    """A client for `service`; botocore reads AWS_ENDPOINT_URL, so tests and the local stack
    point it at 127.0.0.1 without code changes."""
    config = RETRIES.merge(kwargs.pop("config")) if "config" in kwargs else RETRIES
    return (session or boto3.session.Session()).client(service, config=config, **kwargs)
