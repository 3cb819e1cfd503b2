"""The API's clients and settings, built once at the entry point and passed to each service."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3

from conveyor.aws import client, presigning_client
from conveyor.clock import utcnow
from conveyor.ledger.store import Ledger
from web_api.config import WebConfig


@dataclass(frozen=True)
class Services:
    config: WebConfig
    ledger: Ledger
    s3: Any
    """Listings and HEADs."""
    presigner: Any
    """Signs the URLs a browser uses: the bucket's regional host on AWS (see presigning_client)."""
    sts: Any
    batch: Any
    clock: Callable[[], datetime] = utcnow


def build_services(environ: Mapping[str, str] | None = None) -> Services:
    """From settings in `environ` (default: the process environment), clients from one session;
    a missing or invalid setting raises ConfigError."""
    config = WebConfig.from_env(environ)
    session = boto3.session.Session()
    return Services(
        config=config,
        ledger=Ledger(client("dynamodb", session=session), config.ledger_table),
        s3=client("s3", session=session),
        presigner=presigning_client(session),
        sts=client("sts", session=session),
        batch=client("batch", session=session),
    )
