"""The web API's pure decisions: what an upload request may be, how large its parts, what the page
sees of a file from its ledger entries and staging."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from conveyor.ledger.entries import Entry
from web_api.config import MIB, WebConfig
from web_api.errors import BadRequest
from web_api.keys import FileKey
from web_api.uploads import MAX_PARTS, part_size
from web_api.validation import MAX_SIZE, parse_upload, type_allowed
from web_api.views import attachment, file_view, history, recorded_output_size

FILE = FileKey("3f1c9a52-7d0e-4b8e-9a61-2f4d5c6b7a80", "20261128T105512Z-4f9c2a1b", "a.mov")
STAGED = {
    "Key": FILE.key,
    "Size": 10,
    "ETag": '"e1"',
    "LastModified": datetime(2026, 1, 1, tzinfo=UTC),
}


def entry(**fields: Any) -> Entry:
    return Entry(
        {
            "bucket": "staging",
            "object_key": FILE.key,
            "etag": "e1",
            "version_id": "v1",
            "created_at": "2026-01-01T00:00:01.000Z",
            "updated_at": "2026-01-01T00:00:02.000Z",
            **fields,
        }
    )


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (None, "JSON object"),
        ([], "JSON object"),
        ({"name": "a.mov", "size": 1}, "Missing field 'type'"),
        ({}, "Missing fields 'name', 'size', 'type'"),
        ({"name": "a", "size": 1, "type": "video/mp4", "key": "x"}, "Unknown field 'key'"),
        ({"name": 5, "size": 1, "type": "video/mp4"}, "name must be a string"),
        ({"name": "../", "size": 1, "type": "video/mp4"}, "nothing left"),
        ({"name": "a", "size": "1", "type": "video/mp4"}, "whole number"),
        ({"name": "a", "size": 1.0, "type": "video/mp4"}, "whole number"),
        ({"name": "a", "size": True, "type": "video/mp4"}, "whole number"),
        ({"name": "a", "size": 0, "type": "video/mp4"}, "at least 1 byte"),
        ({"name": "a", "size": -5, "type": "video/mp4"}, "at least 1 byte"),
        ({"name": "a", "size": MAX_SIZE + 1, "type": "video/mp4"}, "at most 5 TiB"),
        ({"name": "a", "size": 1, "type": "text/html"}, "not allowed: use video/*"),
        ({"name": "a", "size": 1, "type": ""}, "not allowed"),
        ({"name": "a", "size": 1, "type": None}, "not allowed"),
    ],
)
def test_bad_upload_requests_are_refused_in_one_sentence(body: Any, says: str) -> None:
    with pytest.raises(BadRequest, match=says) as refused:
        parse_upload(body)
    assert str(refused.value).count(". ") == 0  # one sentence


def test_a_good_request_keeps_the_cleaned_name() -> None:
    request = parse_upload({"name": "../clip.mov", "size": MAX_SIZE, "type": "video/quicktime"})
    assert (request.name, request.size, request.type) == ("clip.mov", MAX_SIZE, "video/quicktime")


@pytest.mark.parametrize(
    ("kind", "allowed"),
    [
        ("video/mp4", True),
        ("audio/mpeg", True),
        ("image/png", True),
        ("video/x-matroska", True),
        ("application/octet-stream", True),
        ("application/mxf", True),
        ("application/pdf", False),
        ("text/plain", False),
        ("video/", False),
        ("video/mp4; codecs=avc1", False),
        ("video/mp4\r\nX-Evil: 1", False),
        ("VIDEO/MP4", False),
    ],
)
def test_allowed_types(kind: str, allowed: bool) -> None:
    assert type_allowed(kind) is allowed


def test_parts_grow_to_fit_s3s_ten_thousand() -> None:
    assert part_size(200 * MIB, 16 * MIB) == 16 * MIB
    largest = part_size(MAX_SIZE, 16 * MIB)
    assert largest % MIB == 0 and MAX_SIZE / largest <= MAX_PARTS
    assert part_size(MAX_SIZE, 16 * MIB) - MIB < MAX_SIZE / MAX_PARTS  # the smallest that fits


def test_settings_refuse_a_part_below_s3s_minimum() -> None:
    from conveyor.errors import ConfigError

    env = {
        "CONVEYOR_STAGING_BUCKET": "s",
        "CONVEYOR_LEDGER_TABLE": "t",
        "CONVEYOR_UPLOAD_ROLE_ARN": "arn:aws:iam::1:role/u",
        "CONVEYOR_JOB_QUEUE": "q",
        "CONVEYOR_JOB_DEFINITION": "d",
        "CONVEYOR_WEB_ORIGIN": "https://example.com/",
    }
    config = WebConfig.from_env(env)
    assert (config.multipart_threshold, config.part_size) == (100 * MIB, 16 * MIB)
    assert config.origin == "https://example.com"
    with pytest.raises(ConfigError, match="CONVEYOR_WEB_PART_SIZE"):
        WebConfig.from_env({**env, "CONVEYOR_WEB_PART_SIZE": str(4 * MIB)})
    with pytest.raises(ConfigError, match="CONVEYOR_WEB_MULTIPART_THRESHOLD"):
        WebConfig.from_env({**env, "CONVEYOR_WEB_MULTIPART_THRESHOLD": "lots"})
    with pytest.raises(ConfigError, match="CONVEYOR_WEB_ORIGIN"):
        WebConfig.from_env({k: v for k, v in env.items() if k != "CONVEYOR_WEB_ORIGIN"})


def test_in_staging_without_an_entry_is_uploaded() -> None:
    view = file_view(FILE, [], STAGED)
    assert (view["status"], view["size"], view["can_retry"]) == ("UPLOADED", 10, False)
    assert view["uploaded_at"] == "2026-01-01T00:00:00.000Z"


def test_a_newer_upload_the_ledger_has_not_seen_is_uploaded() -> None:
    old = entry(status="FAILED", etag="e0", job_id="j0")
    view = file_view(FILE, [old], STAGED)
    assert (view["status"], view["job_id"], view["can_retry"]) == ("UPLOADED", None, False)


def test_progress_shows_only_while_running() -> None:
    running = entry(status="RUNNING", job_id="j1", progress=42.5)
    assert file_view(FILE, [running], STAGED)["progress"] == 42.5
    done = entry(status="SUCCEEDED", job_id="j1", progress=42.5)
    assert file_view(FILE, [done], None)["progress"] is None


def test_a_failed_file_still_in_staging_can_be_retried() -> None:
    failed = entry(status="FAILED", job_id="j1", error="exited with 3", status_reason="Essential")
    view = file_view(FILE, [failed], STAGED)
    assert (view["status"], view["reason"], view["can_retry"]) == ("FAILED", "exited with 3", True)
    assert file_view(FILE, [failed], None)["can_retry"] is False  # the original is gone


def test_the_newest_version_decides_and_history_lists_all() -> None:
    first = entry(status="FAILED", job_id="j1", version_id="v1", created_at="2026-01-01T00:00:01Z")
    second = entry(
        status="RUNNING", job_id="j2", version_id="v2", etag="e1", created_at="2026-01-01T00:01:00Z"
    )
    assert file_view(FILE, [second, first], STAGED)["status"] == "RUNNING"
    assert [h["version_id"] for h in history([first, second])] == ["v2", "v1"]


def test_only_a_written_output_has_a_recorded_size() -> None:
    assert recorded_output_size(entry(outcome="written", metrics={"output_bytes": 7})) == 7
    assert (
        recorded_output_size(entry(outcome="already written", metrics={"output_bytes": 0})) is None
    )
    assert recorded_output_size(entry()) is None


def test_the_download_keeps_any_name() -> None:
    assert attachment("a b.mp4") == "attachment; filename*=UTF-8''a%20b.mp4"
    assert attachment('日本"; x=.mp4') == (
        "attachment; filename*=UTF-8''%E6%97%A5%E6%9C%AC%22%3B%20x%3D.mp4"
    )


def test_a_name_with_a_lone_surrogate_is_a_bad_request_not_a_crash() -> None:
    from web_api.errors import BadRequest
    from web_api.validation import parse_upload

    with pytest.raises(BadRequest, match="lone surrogate"):
        parse_upload({"name": "a\ud800.mov", "size": 10, "type": "video/mp4"})
