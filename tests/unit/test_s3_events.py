import json

import pytest

from conveyor.errors import BadEvent
from conveyor.events.s3 import parse_body, parse_message
from tests.conftest import load_event


def test_direct_notification_decodes_key() -> None:
    parsed = parse_message(load_event("s3-object-created.json"))
    [version] = parsed.versions
    assert version.bucket == "conveyor-staging-example"
    assert version.key == "videos/My Holiday (2026) ü.mov"
    assert version.version_id == "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"
    assert version.etag == "d41d8cd98f00b204e9800998ecf8427e-320"
    assert version.size == 5368709120
    assert version.sequencer == "0055AED6DCD90281E5"


def test_sqs_bodies_including_test_event() -> None:
    records = load_event("sqs-with-s3-events.json")["Records"]
    parsed = [parse_body(r["body"]) for r in records]
    assert [len(p.versions) for p in parsed] == [1, 0, 1]
    assert "s3:TestEvent" in parsed[1].ignored[0]


def test_test_event_is_ignored() -> None:
    parsed = parse_message(load_event("s3-test-event.json"))
    assert parsed.versions == [] and parsed.ignored


@pytest.mark.parametrize(
    ("encoded", "decoded"),
    [
        ("a+b.txt", "a b.txt"),
        ("a%2Bb.txt", "a+b.txt"),
        ("100%25+done.csv", "100% done.csv"),
        ("%E6%97%A5%E6%9C%AC/%C3%BC.mov", "日本/ü.mov"),
    ],
)
def test_key_decoding(encoded: str, decoded: str) -> None:
    event = load_event("s3-object-created.json")
    event["Records"][0]["s3"]["object"]["key"] = encoded
    assert parse_message(event).versions[0].key == decoded


def test_non_created_records_and_folder_markers_are_ignored() -> None:
    event = load_event("s3-object-created.json")
    created = event["Records"][0]
    removed = json.loads(json.dumps(created))
    removed["eventName"] = "ObjectRemoved:Delete"
    folder = json.loads(json.dumps(created))
    folder["s3"]["object"].update(key="photos%2F", size=0)
    empty = json.loads(json.dumps(created))
    empty["s3"]["object"].update(key="empty.txt", size=0)
    event["Records"] = [removed, folder, created, empty]
    parsed = parse_message(event)
    assert [v.key for v in parsed.versions] == ["videos/My Holiday (2026) ü.mov", "empty.txt"]
    assert len(parsed.ignored) == 2


def test_record_without_version_or_sequencer_as_moto_sends() -> None:
    event = load_event("s3-object-created.json")
    obj = event["Records"][0]["s3"]["object"]
    del obj["versionId"], obj["sequencer"]
    [version] = parse_message(event).versions
    assert version.version_id is None and version.sequencer is None
    assert version.ref == "e#d41d8cd98f00b204e9800998ecf8427e-320"


def test_eventbridge_object_created_key_is_not_decoded() -> None:
    event = {
        "version": "0",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "detail": {
            "bucket": {"name": "stage"},
            "object": {
                "key": "raw/a+b%20c.zip",
                "size": 12,
                "etag": "4af981f98d22a0b9979da24b259e5e42-12",
                "version-id": "uhggCJ2_B6gU2JaXWXebnXFDstO0ID6G",
                "sequencer": "0064D3901D00059242",
            },
            "reason": "CompleteMultipartUpload",
        },
    }
    [version] = parse_message(event).versions
    assert version.key == "raw/a+b%20c.zip"
    assert version.version_id == "uhggCJ2_B6gU2JaXWXebnXFDstO0ID6G"
    assert version.sequencer == "0064D3901D00059242"


def test_sns_envelope_in_sqs_body() -> None:
    inner = json.dumps(load_event("s3-object-created.json"))
    body = json.dumps({"Type": "Notification", "Message": inner})
    assert parse_body(body).versions[0].key.endswith("ü.mov")


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        json.dumps({"hello": "world"}),
        json.dumps({"Records": [{"eventName": "ObjectCreated:Put", "s3": {}}]}),
        json.dumps({"Records": "nope"}),
    ],
)
def test_malformed_bodies_are_bad_events(body: str) -> None:
    with pytest.raises(BadEvent):
        parse_body(body)
