"""Ledger entries read as typed fields, not dict keys."""

from conveyor.ledger.entries import Entry, Location
from conveyor.status import Status

ITEM = {
    "pk": "b/videos/cat.mov",
    "sk": "v#v1",
    "bucket": "b",
    "object_key": "videos/cat.mov",
    "version_id": "v1",
    "etag": "e1",
    "size": 42,
    "status": "SUPERSEDED",
    "job_id": "j1",
    "transform": "command",
    "argv": '["xz", "-c"]',
    "output": {"bucket": "out", "key": "videos/cat.mov.xz"},
    "archive": {"bucket": "arc", "key": "videos/cat.mov", "version_id": "a1"},
    "history": [{"at": "2026-11-28T00:00:00.000Z", "status": "SUBMITTED", "job_id": "j1"}],
}


def test_an_entry_has_typed_fields() -> None:
    entry = Entry(ITEM)
    assert (entry.bucket, entry.key, entry.version_id) == ("b", ITEM["object_key"], "v1")
    assert entry.status is Status.SUPERSEDED
    assert entry.output == Location("out", "videos/cat.mov.xz")
    assert entry.archive == Location("arc", "videos/cat.mov", "a1")
    assert entry.spec.argv == ("xz", "-c") and entry.spec.version.size == 42


def test_a_claimed_entry_has_no_status_yet_and_reads_as_the_stored_item() -> None:
    claimed = Entry({"bucket": "b", "object_key": "k", "etag": "e", "claim_token": "t"})
    assert claimed.status is None and claimed.job_id is None
    assert claimed.output is None
    assert dict(claimed)["claim_token"] == "t"  # what conditional writes work on
