"""Building AWS clients at entry points: endpoints come from AWS_ENDPOINT_URL[_<SERVICE>]."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore import utils as botocore_utils
from botocore.config import Config

from conveyor.errors import ConfigError

RETRIES = Config(retries={"mode": "standard", "max_attempts": 5})
"""Standard mode retries throttling (TooManyRequestsException included) and 5xx with backoff."""
SIGV4 = Config(signature_version="s3v4")
"""botocore still presigns S3 URLs with Signature V2 unless told: S3 refuses V2 for buckets made
since 2020, and V2 does not sign headers such as If-Match or Content-Type."""
VIRTUAL_HOSTED = Config(s3={"addressing_style": "virtual"})
"""`bucket.s3.<region>.amazonaws.com`: the global name answers 307 for a new bucket outside
us-east-1, and a browser's CORS upload does not follow that redirect."""


ENDPOINT_URL = "AWS_ENDPOINT_URL"
IGNORE_ENDPOINT_URLS = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"
ENDPOINT_USAGE = "it needs http:// or https:// and a host, e.g. http://127.0.0.1:4566"


def client(service: str, *, session: boto3.session.Session | None = None, **kwargs: Any) -> Any:
    """A client for `service`; botocore reads AWS_ENDPOINT_URL, so tests and the local stack
    point it at 127.0.0.1 without code changes."""
    check_endpoint(service, kwargs.get("endpoint_url"))
    config = RETRIES.merge(SIGV4) if service == "s3" else RETRIES
    if "config" in kwargs:
        config = config.merge(kwargs.pop("config"))
    try:
        return (session or boto3.session.Session()).client(service, config=config, **kwargs)
    except ValueError as err:  # e.g. an endpoint_url from ~/.aws/config botocore refuses
        raise ConfigError(f"cannot make the {service} client: {err}") from err


def check_endpoint(
    service: str, endpoint_url: str | None = None, environ: Mapping[str, str] | None = None
) -> None:
    """Refuse, naming where it came from, an endpoint URL botocore would reject with a
    ValueError traceback (a bad port only on the first request)."""
    source = _endpoint_source(service, endpoint_url, os.environ if environ is None else environ)
    if source is None:
        return
    name, url = source
    problem = endpoint_problem(url)
    if problem:
        given = f"{name}={url!r}" if name else repr(url)
        raise ConfigError(f"{given} is not a usable endpoint URL: {problem}")


def endpoint_problem(url: str) -> str | None:
    """Why `url` cannot be an endpoint, or None."""
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed IPv6 bracket
        return ENDPOINT_USAGE
    if parts.scheme not in ("http", "https") or not botocore_utils.is_valid_uri(url):
        return ENDPOINT_USAGE
    try:
        port = parts.port
    except ValueError:  # not a number, or above 65535
        port = 0
    return "its port must be a number from 1 to 65535" if port == 0 else None


def endpoint_override(service: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The endpoint URL the environment sets for `service` (the local stack, tests), or None on
    AWS's own endpoints."""
    source = _endpoint_source(service, None, os.environ if environ is None else environ)
    return source[1] if source else None


def _endpoint_source(
    service: str, endpoint_url: str | None, environ: Mapping[str, str]
) -> tuple[str | None, str] | None:
    """The endpoint botocore will use and the name it comes from, in botocore's order."""
    if endpoint_url is not None:
        return None, endpoint_url
    if environ.get(IGNORE_ENDPOINT_URLS, "").strip().lower() == "true":
        return None
    for name in (_service_variable(service), ENDPOINT_URL):
        if environ.get(name):
            return name, environ[name]
    return None


def _service_variable(service: str) -> str:
    """AWS_ENDPOINT_URL_<SERVICE ID>, named as botocore names it (logs -> CLOUDWATCH_LOGS)."""
    name = botocore_utils.SERVICE_NAME_ALIASES.get(service, service)
    name = botocore_utils.CLIENT_NAME_TO_HYPHENIZED_SERVICE_ID_OVERRIDES.get(name, name)
    return f"{ENDPOINT_URL}_{name.replace('-', '_').upper()}"


def presigning_client(session: boto3.session.Session | None = None) -> Any:
    """An S3 client whose URLs name the bucket's regional virtual host on AWS; path style on a
    local endpoint (http://127.0.0.1:PORT), where `bucket.127.0.0.1` cannot resolve."""
    if endpoint_override("s3"):
        return client("s3", session=session)
    return client("s3", session=session, config=VIRTUAL_HOSTED)


def clients(*services: str, **kwargs: Any) -> tuple[Any, ...]:
    """Clients for `services` from one session: later ones reuse what the first loaded
    (endpoint rules, credentials), which saves a cold start ~35 ms per client."""
    session = boto3.session.Session()
    return tuple(client(service, session=session, **kwargs) for service in services)


def never_retried(service_client: Any, operation: str) -> Any:
    """Stop botocore from retrying `operation` on `service_client` (idempotent): for a call that is
    not safe to repeat blindly (SubmitJob), whose caller retries after checking whether the lost
    try was applied. Returns the client."""
    service_id = service_client.meta.service_model.service_id.hyphenize()
    service_client.meta.events.register_first(
        f"needs-retry.{service_id}.{operation}",
        _no_retry,
        unique_id=f"conveyor-never-retried-{service_id}-{operation}",
    )
    return service_client


def _no_retry(**_: Any) -> bool:
    """A `needs-retry` answer botocore reads as "do not retry" (the first answer wins)."""
    return False
