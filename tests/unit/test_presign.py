"""Presigned reads are signed offline (no AWS): Signature V4, pinned to the one version."""

from __future__ import annotations

import subprocess
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from batch_job.progress import Progress
from batch_job.source import SignedGet, Source, presigned_get
from batch_job.transforms import ffmpeg, h264
from batch_job.transforms.base import Context
from batch_job.transforms.ffmpeg import Profile, ffmpeg_args, probe_args
from batch_job.transforms.process import Finished


def original(version_id: str | None) -> Source:
    return Source(
        bucket="conveyor-staging-1",
        key="videos/a b ü.mov",
        version_id=version_id,
        etag="0123abcd",
        size=10,
        last_modified=datetime(2026, 1, 1, tzinfo=UTC),
        checksums={},
        checksum_type=None,
    )


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_a_versioned_read_names_the_version_in_a_sigv4_url(s3: object) -> None:
    get = presigned_get(s3, original("v1"), 3600)
    params = query(get.url)
    # Signature V2 (botocore's default for presigned S3 URLs) is refused by buckets made since
    # 2020 and would not sign If-Match.
    assert params["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert params["versionId"] == "v1" and params["X-Amz-Expires"] == "3600"
    assert get.headers == {}


def test_an_unversioned_read_signs_if_match_and_says_to_send_it(s3: object) -> None:
    get = presigned_get(s3, original(None), 3600)
    assert "if-match" in query(get.url)["X-Amz-SignedHeaders"].split(";")
    assert get.headers == {"If-Match": '"0123abcd"'}


def test_ffmpeg_and_ffprobe_send_the_signed_headers() -> None:
    headers = {"If-Match": '"0123abcd"'}
    for argv in (ffmpeg_args(Profile(720), "http://x", headers), probe_args("http://x", headers)):
        assert argv[argv.index("-headers") + 1] == 'If-Match: "0123abcd"\r\n'
        assert argv.index("-headers") < argv.index("-i")  # an input option
    assert "-headers" not in ffmpeg_args(Profile(720), "http://x")


def test_h264_reads_with_the_signed_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both ffprobe (check) and ffmpeg (apply) must send what the URL was signed with."""
    seen: list[list[str]] = []
    report = b'{"streams": [{"codec_type": "video", "width": 2, "height": 2}], "format": {}}'

    def fake_run(argv: list[str], **_: object) -> subprocess.CompletedProcess[bytes]:
        seen.append(argv)
        return subprocess.CompletedProcess(argv, 0, report, b"")

    def fake_filter(argv: list[str], sink: object, **kw: Any) -> Finished:
        seen.append(list(argv))
        kw["on_stderr"]("progress=end")  # ffmpeg's last -progress line: it read to the end
        return Finished(0, "")

    monkeypatch.setattr(ffmpeg.subprocess, "run", fake_run)
    monkeypatch.setattr(h264, "run_filter", fake_filter)
    get = SignedGet("https://s3/b/k?sig", {"If-Match": '"0123abcd"'})
    context = Context(
        source=original(None),
        open_stream=lambda: iter(()),
        signed_get=lambda: get,
        progress=Progress(10, 60),
    )
    transform = h264.H264(name="h264-720p", height=720)
    checked: Future[ffmpeg.Probe] = Future()
    checked.set_result(transform.check(context))
    transform.apply(context, None, checked)  # type: ignore[arg-type]
    assert [argv[0] for argv in seen] == ["ffprobe", "ffmpeg"]
    for argv in seen:
        assert argv[argv.index("-headers") + 1] == 'If-Match: "0123abcd"\r\n'
        assert argv[argv.index("-i") + 1] == get.url
