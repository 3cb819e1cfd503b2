"""`conveyor presign` and `conveyor credentials`: short lives, regional URLs, the session tag."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from conveyor.errors import ConveyorError
from conveyor.operations import UPLOAD_PREFIX_TAG, upload_tag
from conveyor_cli import access

BUCKET = "conveyor-staging-1"


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Signing needs no network: a region, dummy keys, no endpoint override."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CONVEYOR_STAGING_BUCKET", BUCKET)


def presigned(capsys: pytest.CaptureFixture[str], **kwargs: Any) -> str:
    access.presign("videos/cat.mov", content_type="video/quicktime", **kwargs)
    return capsys.readouterr().out.strip()


def test_presign_defaults_to_15_minutes_on_the_regional_virtual_host(
    offline: None, capsys: pytest.CaptureFixture[str]
) -> None:
    url = urlsplit(presigned(capsys))
    # The global name answers 307 for new buckets outside us-east-1, which breaks CORS uploads.
    assert url.netloc == f"{BUCKET}.s3.eu-west-1.amazonaws.com"
    assert url.path == "/videos/cat.mov"
    assert parse_qs(url.query)["X-Amz-Expires"] == ["900"]


def test_presign_keeps_path_style_on_a_local_endpoint(
    offline: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    url = urlsplit(presigned(capsys, expires=3600))
    assert (url.netloc, url.path) == ("127.0.0.1:4566", f"/{BUCKET}/videos/cat.mov")


def test_presign_refuses_more_than_an_hour(offline: None) -> None:
    with pytest.raises(ConveyorError, match=r"--expires 3601 .* at most 3600"):
        access.presign("videos/cat.mov", content_type="video/quicktime", expires=3601)


class FakeSts:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.meta = type("Meta", (), {"region_name": "eu-west-1"})()

    def assume_role(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        expiration = datetime(2026, 1, 1, tzinfo=UTC)
        return {
            "Credentials": {
                "AccessKeyId": "a",
                "SecretAccessKey": "s",
                "SessionToken": "t",
                "Expiration": expiration,
            }
        }


@pytest.fixture
def sts(offline: None, monkeypatch: pytest.MonkeyPatch) -> FakeSts:
    fake = FakeSts()
    monkeypatch.setenv("CONVEYOR_UPLOAD_ROLE_ARN", "arn:aws:iam::111111111111:role/upload")
    monkeypatch.setattr(access, "client", lambda service: fake)
    return fake


def test_credentials_pass_the_key_as_the_session_tag(sts: FakeSts) -> None:
    access.credentials("videos/cat.mov", duration=3600)
    [call] = sts.calls
    assert call["Tags"] == [{"Key": UPLOAD_PREFIX_TAG, "Value": "videos/cat.mov"}]
    assert call["DurationSeconds"] == 3600


def test_credentials_refuse_more_than_a_chained_roles_hour(sts: FakeSts) -> None:
    with pytest.raises(ConveyorError, match=r"--duration 7200 .* at most 3600"):
        access.credentials("videos/cat.mov", duration=7200)
    assert sts.calls == []


@pytest.mark.parametrize(
    ("key", "tag"),
    [
        ("videos/cat.mov", "videos/cat.mov"),
        ("in/my*clip?.mov", "in/my"),  # * and ? cannot be in a tag: the bound is the prefix
        ("vidéos/ü b.mov", "vidéos/ü b.mov"),  # letters of any script and spaces can
        ("a" * 300, "a" * 256),  # a tag value holds 256 characters
    ],
)
def test_the_tag_is_the_keys_longest_prefix_a_tag_can_hold(key: str, tag: str) -> None:
    assert upload_tag(key) == tag
    assert key.startswith(tag)


def test_a_key_no_tag_can_bound_is_refused() -> None:
    with pytest.raises(ConveyorError, match="cannot be bounded"):
        upload_tag("*.mov")
