"""The worker's limits (issue 11, point 8): input size after the probe, output bytes, a child
environment without credentials, the protocols ffmpeg may use, a presigned read that dies with
the job. All offline."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from batch_job.config import Job, WorkerConfig
from batch_job.errors import BadInput
from batch_job.limits import Limits
from batch_job.progress import Progress
from batch_job.source import Source
from batch_job.steps import make_context
from batch_job.transforms import ffmpeg
from batch_job.transforms.process import run_filter, scrubbed_env
from batch_job.upload import OutputUpload
from conveyor import settings
from conveyor.errors import ConfigError
from conveyor.jobs import JobSpec
from conveyor.objects import ObjectVersion

BASE = {settings.OUTPUT_BUCKET: "o", settings.ARCHIVE_BUCKET: "a"}


def video(width: int = 1920, height: int = 1080, **durations: float | None) -> ffmpeg.Probe:
    return ffmpeg.Probe(
        "mov",
        durations.get("duration", 60.0),
        width,
        height,
        True,
        **{k: v for k, v in durations.items() if k != "duration"},
    )


# --- limits against a probe -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("probe", "limits", "reason"),
    [
        (
            video(640, 360),
            Limits(max_height=240),
            r"360 pixels high, more than CONVEYOR_MAX_HEIGHT=240",
        ),
        (video(8192, 4320), Limits(), r"8192 pixels wide, more than CONVEYOR_MAX_WIDTH=7680"),
        (
            video(duration=7200.0),
            Limits(max_duration=3600),
            r"7200 s, more than CONVEYOR_MAX_DURATION",
        ),
        # A short container with a long audio track: ffmpeg reads it all, the longest counts.
        (video(duration=10.0, audio_duration=50000.0), Limits(), "CONVEYOR_MAX_DURATION=43200"),
    ],
)
def test_a_probe_beyond_a_limit_is_refused_naming_it(
    probe: ffmpeg.Probe, limits: Limits, reason: str
) -> None:
    with pytest.raises(BadInput, match=reason):
        ffmpeg.check_limits(probe, limits)


def test_a_probe_within_the_limits_passes_and_an_unknown_duration_too() -> None:
    assert ffmpeg.check_limits(video(7680, 4320, duration=43200.0), Limits()).width == 7680
    assert ffmpeg.check_limits(video(duration=None), Limits(max_duration=1)).duration is None


# --- configuration --------------------------------------------------------------------------


def test_limits_default_to_8k_12_hours_5_tb_and_the_job_timeout_12_hours() -> None:
    config = WorkerConfig.from_env(BASE)
    assert config.limits == Limits(7680, 4320, 43200.0)
    assert config.max_output_bytes == 5 * 10**12
    assert config.job_timeout == config.url_lifetime == 43200


def test_limits_come_from_the_environment() -> None:
    config = WorkerConfig.from_env(
        {
            **BASE,
            "CONVEYOR_MAX_WIDTH": "1920",
            "CONVEYOR_MAX_HEIGHT": "1080",
            "CONVEYOR_MAX_DURATION": "90.5",
            "CONVEYOR_MAX_OUTPUT_BYTES": "1000",
            "CONVEYOR_JOB_TIMEOUT": "3600",
        }
    )
    assert config.limits == Limits(1920, 1080, 90.5)
    assert config.max_output_bytes == 1000
    assert config.url_lifetime == 3600
    week = WorkerConfig.from_env({**BASE, "CONVEYOR_JOB_TIMEOUT": str(30 * 86400)})
    assert week.url_lifetime == 7 * 86400  # Signature V4's longest


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CONVEYOR_MAX_WIDTH", "8k"),
        ("CONVEYOR_MAX_HEIGHT", "0"),
        ("CONVEYOR_MAX_DURATION", "-1"),
        ("CONVEYOR_MAX_DURATION", "long"),
        ("CONVEYOR_MAX_OUTPUT_BYTES", "5TB"),
        ("CONVEYOR_JOB_TIMEOUT", "12h"),
    ],
)
def test_an_invalid_limit_is_a_config_error_naming_it(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        WorkerConfig.from_env({**BASE, name: value})


# --- the presigned read lives no longer than the job ----------------------------------------


def test_the_presigned_read_expires_with_the_job(s3: object) -> None:
    source = Source("b", "k.mov", "v1", "e", 10, datetime(2026, 1, 1, tzinfo=UTC), {}, None)
    config = WorkerConfig.from_env(
        {**BASE, "CONVEYOR_JOB_TIMEOUT": "1800", "CONVEYOR_MAX_HEIGHT": "240"}
    )
    job = Job(JobSpec(ObjectVersion("b", "k.mov", "e", 10, "v1"), "h264-720p"))
    context = make_context(s3, config, job, source, Progress(10, 60))
    expires = parse_qs(urlsplit(context.signed_get().url).query)["X-Amz-Expires"]
    assert expires == ["1800"]
    assert context.limits.max_height == 240


# --- protocols --------------------------------------------------------------------------------


def allowed(url: str) -> list[str]:
    argv = ffmpeg.probe_args(url)
    return argv[argv.index("-protocol_whitelist") + 1].split(",")


def test_http_is_allowed_only_when_the_url_itself_is_plain_http() -> None:
    assert allowed("https://b.s3.eu-west-1.amazonaws.com/k?X-Amz-Signature=1") == [
        "https",
        "tcp",
        "tls",
    ]
    assert "http" in allowed("http://127.0.0.1:5000/b/k?X-Amz-Signature=1")
    argv = ffmpeg.ffmpeg_args(ffmpeg.Profile(720), "https://b.s3.amazonaws.com/k")
    assert "http" not in argv[argv.index("-protocol_whitelist") + 1].split(",")


# --- a scrubbed environment for children ------------------------------------------------------

SECRETS = {
    "AWS_ACCESS_KEY_ID": "AKID",
    "AWS_SECRET_ACCESS_KEY": "secret",
    "AWS_SESSION_TOKEN": "token",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/abc",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.23/v1/credentials",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN": "token",
    "AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/token",
    "ECS_CONTAINER_METADATA_URI": "http://169.254.170.2/v3/x",
    "ECS_CONTAINER_METADATA_URI_V4": "http://169.254.170.2/v4/x",
}
KEPT = {"PATH": "/usr/bin:/bin", "HOME": "/root", "LANG": "C.UTF-8", "TMPDIR": "/tmp"}


def test_scrubbed_env_drops_credentials_and_keeps_the_rest() -> None:
    assert scrubbed_env({**SECRETS, **KEPT}) == KEPT


class Collect:
    def __init__(self) -> None:
        self.data = b""

    def write(self, data: bytes) -> None:
        self.data += data


def test_a_filter_runs_without_the_workers_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    sink = Collect()
    printing = "import os, json; print(json.dumps(dict(os.environ)))"
    assert run_filter([sys.executable, "-c", printing], sink).returncode == 0
    seen = sink.data.decode()
    assert "PATH" in seen
    for name in SECRETS:
        assert name not in seen


def test_ffprobe_runs_without_the_workers_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    seen: dict[str, Any] = {}

    def fake_run(argv: list[str], **kw: Any) -> Any:
        seen.update(kw)
        raise FileNotFoundError(argv[0])

    monkeypatch.setattr(ffmpeg.subprocess, "run", fake_run)
    with pytest.raises(RuntimeError):
        ffmpeg.probe("https://x/k")
    assert "AWS_SECRET_ACCESS_KEY" not in seen["env"] and "PATH" in seen["env"]


# --- the output cap -----------------------------------------------------------------------------


class NoUploads:
    def paginate(self, **_: Any) -> list[dict[str, Any]]:
        return [{"Uploads": []}]


class FakeS3:
    """Just enough of S3 for OutputUpload, recording what it was asked."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def get_paginator(self, name: str) -> Any:
        """ListMultipartUploads: none open before ours (batch_job.multipart looks first)."""
        assert name == "list_multipart_uploads"
        return NoUploads()

    def create_multipart_upload(self, **_: Any) -> dict[str, str]:
        self.calls.append("create")
        return {"UploadId": "u1"}

    def upload_part(self, **kw: Any) -> dict[str, str]:
        self.calls.append("part")
        return {"ETag": f'"{kw["PartNumber"]}"'}

    def abort_multipart_upload(self, **_: Any) -> None:
        self.calls.append("abort")

    def put_object(self, **_: Any) -> dict[str, str]:
        self.calls.append("put")
        return {"ETag": '"x"'}


def test_an_output_beyond_the_cap_is_bad_input_and_the_upload_aborts() -> None:
    s3 = FakeS3()
    part = 5 * 1024 * 1024
    with pytest.raises(BadInput, match="exceeds CONVEYOR_MAX_OUTPUT_BYTES=6291456"):  # noqa: SIM117
        with OutputUpload(
            s3, "o", "k", base_part_size=part, metadata={}, content_type="x", max_bytes=6 * 2**20
        ) as upload:
            upload.write(b"x" * part)  # a part is sent: the upload exists
            upload.write(b"x" * part)
    assert s3.calls == ["create", "part", "abort"]


def test_an_output_at_the_cap_is_written() -> None:
    s3 = FakeS3()
    with OutputUpload(
        s3, "o", "k", base_part_size=5 * 2**20, metadata={}, content_type="x", max_bytes=4
    ) as upload:
        upload.write(b"abcd")
        upload.finish()
        upload.commit(replacing_etag=None)
    assert s3.calls == ["put"]
