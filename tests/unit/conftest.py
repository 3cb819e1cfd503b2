"""Fixtures for the pure tests: nothing here reaches a network."""

from __future__ import annotations

import pytest

from conveyor.aws import client


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> object:
    """An S3 client that only signs: AWS's own endpoint in eu-west-1 with made-up keys (presigning
    is local; nothing is sent)."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return client("s3")
