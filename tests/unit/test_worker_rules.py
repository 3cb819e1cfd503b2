"""The worker's pure decisions: output names, newest-upload-wins, part sizes, copy verification."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from hypothesis import given
from hypothesis import strategies as st

from batch_job import transforms
from batch_job.archive import compare
from batch_job.errors import BadInput, Transient, exit_code
from batch_job.parts import (
    MAX_PARTS,
    MIN_PART_SIZE,
    MiB,
    base_part_size,
    capacity,
    part_size,
    parts_in_flight,
)
from batch_job.provenance import Decision, Provenance, clash_reason, decide, supersedes
from batch_job.source import Source
from conveyor.naming import output_key


@pytest.mark.parametrize(
    ("key", "template", "expected"),
    [
        ("videos/cat.mov", "{dir}/{stem}.h264-720p.mp4", "videos/cat.h264-720p.mp4"),
        ("cat.mov", "{dir}/{stem}.h264-720p.mp4", "cat.h264-720p.mp4"),
        ("/cat.mov", "{dir}/{stem}.mp4", "/cat.mp4"),
        ("a//b.mov", "{dir}/{stem}.mp4", "a//b.mp4"),
        ("a/.env", "{dir}/{stem}{ext}.gz", "a/.env.gz"),
        ("logs/a.txt", "{key}.gz", "logs/a.txt.gz"),
        ("a/b/c.tar.gz", "{stem}{ext}", "c.tar.gz"),
        ("in/x.mov", "out/{transform}/{version_id}/{stem}.mp4", "out/copy/v1/x.mp4"),
        ("ü/日本.mov", "{dir}/{stem}.mp4", "ü/日本.mp4"),
    ],
)
def test_output_key(key: str, template: str, expected: str) -> None:
    assert output_key(key, template, "copy", "v1") == expected


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{nope}.mp4", "names nope"),
        ("{key", "malformed"),
        ("{dir}/", "no object name"),
        ("{key}" + "x" * 1100, "longer than"),
    ],
)
def test_bad_output_templates(template: str, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        output_key("a/b.mov", template, "copy", None)


def prov(
    version: str,
    modified: str,
    sequencer: str | None = None,
    key: str = "k",
    older: frozenset[str] | None = None,
) -> Provenance:
    return Provenance(
        "b", key, version, "etag-" + version, sequencer, modified, older_versions=older
    )


SOURCE_KEYS = [
    "videos/clip.mov",
    "videos/clip.mp4",
    "videos/clip",
    "videos/clip.MOV",
    "a//b.mp4",
    "a/b.mp4",
    "/abs/x.mp4",
    "abs/x.mp4",
    "x.mp4",
    "/x.mp4",
    "ü/日本.mov",
]


@pytest.mark.parametrize("transform", sorted(transforms.REGISTRY))
def test_default_output_names_are_one_to_one_with_source_keys(transform: str) -> None:
    template = transforms.get(transform).output_template
    names = {output_key(key, template, transform, None) for key in SOURCE_KEYS}
    assert len(names) == len(SOURCE_KEYS)


def test_decide() -> None:
    ours = prov("v1", "2026-01-01T00:00:01.000Z")
    newer = prov("v2", "2026-01-01T00:00:02.000Z")
    older = prov("v0", "2026-01-01T00:00:00.000Z")
    assert decide(ours, None, newer_in_staging=False) is Decision.WRITE
    assert decide(ours, ours, newer_in_staging=False) is Decision.ALREADY_WRITTEN
    assert decide(ours, older, newer_in_staging=False) is Decision.WRITE
    assert decide(ours, newer, newer_in_staging=False) is Decision.SUPERSEDED
    assert decide(ours, None, newer_in_staging=True) is Decision.SUPERSEDED
    # A tie in LastModified with nothing else to tell (an output from before the staging order
    # was recorded) keeps what is written: an older version must never win.
    assert decide(ours, prov("v9", ours.last_modified), newer_in_staging=False) is (
        Decision.SUPERSEDED
    )


def test_another_source_key_is_a_clash_whatever_its_age() -> None:
    ours = prov("v1", "2026-01-01T00:00:05.000Z", key="videos/clip.mov")
    other = prov("v7", "2026-01-01T00:00:01.000Z", key="videos/clip.mp4", older=frozenset())
    assert decide(ours, other, newer_in_staging=False) is Decision.CLASH
    assert decide(ours, other, newer_in_staging=True) is Decision.CLASH
    reason = clash_reason("s3://out/videos/clip.mp4", ours, other)
    assert "s3://b/videos/clip.mov" in reason and "s3://b/videos/clip.mp4" in reason


def test_same_second_versions_are_ordered_by_what_the_writer_saw_in_staging() -> None:
    same_second = "2026-01-01T00:00:01.000Z"
    # v5 wrote while v1..v4 waited in staging below it: each of them is older and loses.
    v5 = prov("v5", same_second, older=frozenset({"v1", "v2", "v3", "v4"}))
    for name in ("v1", "v2", "v3", "v4"):
        assert not supersedes(prov(name, same_second), v5)
        assert decide(prov(name, same_second), v5, newer_in_staging=False) is Decision.SUPERSEDED
    # v6 arrived after v5 decided (v5 did not see it), in the same second: it is newer.
    assert supersedes(prov("v6", same_second), v5)
    assert decide(prov("v6", same_second), v5, newer_in_staging=False) is Decision.WRITE
    # Even against LastModified: a multipart upload keeps the time it was started.
    assert not supersedes(prov("v4", "2026-01-01T00:00:09.000Z"), v5)


@given(
    order=st.permutations(range(6)),
    writer=st.integers(min_value=0, max_value=5),
)
def test_no_finishing_order_lets_an_older_version_replace_a_newer_one(
    order: list[int], writer: int
) -> None:
    """Versions 0..5 of one key, uploaded in that order within one second, jobs in any order.

    A job writes only as the newest in staging, recording what was older there; every job after
    it finds the output and decides. Whatever the order, the output ends with the newest version
    that wrote, and a version that found a newer output never replaced it.
    """
    same_second = "2026-01-01T00:00:01.000Z"
    staging = set(range(6))
    output: Provenance | None = None
    for index in order:
        newer_in_staging = any(other > index for other in staging)
        ours = prov(
            f"v{index}", same_second, older=frozenset(f"v{i}" for i in staging if i < index)
        )
        decision = decide(ours, output, newer_in_staging=newer_in_staging)
        if decision is Decision.WRITE:
            assert output is None or int(output.version_id[1:]) < index
            output = ours
        staging.discard(index)
    assert output is not None and output.version_id == "v5"


def test_sequencer_beats_last_modified_for_one_key_only() -> None:
    same_second = "2026-01-01T00:00:01.000Z"
    first = prov("v1", same_second, "0055AED6DCD90281E5")
    second = prov("v2", same_second, "0055AED6DCD90281E6")
    assert supersedes(second, first) and not supersedes(first, second)
    other_key = prov("v3", "2026-01-01T00:00:00.000Z", "FFFF", key="other")
    assert decide(other_key, first, newer_in_staging=False) is Decision.CLASH


def test_provenance_round_trips_through_metadata() -> None:
    original = Provenance(
        "b", "dir/ü x.mov", "v1", "e", "00AB", "2026-01-01T00:00:01.000Z", "copy", "j"
    )
    meta = original.metadata()
    assert all(k.startswith("conveyor-") and v.isascii() for k, v in meta.items())
    assert Provenance.from_metadata(meta) == original
    assert Provenance.from_metadata({}) is None


def test_long_keys_fit_in_metadata_by_digest() -> None:
    long_key = "日本" * 170  # 1,020 bytes, about 3 KB percent-encoded
    original = Provenance("b", long_key, "v1", "e", None, "2026-01-01T00:00:01.000Z")
    meta = original.metadata()
    assert sum(len(k) + len(v) for k, v in meta.items()) <= 2048
    back = Provenance.from_metadata(meta)
    assert back is not None and back.key == "" and back.same_version(original)


def test_part_sizes_hold_five_terabytes_in_10000_parts() -> None:
    assert base_part_size(0) == 8 * MiB
    assert base_part_size(1024**3) == 8 * MiB
    five_tb = 5 * 1024**4
    base = base_part_size(five_tb)
    assert base % MiB == 0 and base * 9000 >= five_tb
    assert capacity(base) >= five_tb
    assert capacity(base_part_size(1024**3)) > 1.5 * 1024**3  # room for outputs larger than input
    assert part_size(9000, base) == base and part_size(9001, base) == 2 * base
    assert base_part_size(1, minimum=MIN_PART_SIZE) == MIN_PART_SIZE
    assert MAX_PARTS == 10_000


def test_memory_in_flight_is_bounded() -> None:
    assert parts_in_flight(8 * MiB) * 8 * MiB <= 128 * MiB
    assert parts_in_flight(600 * MiB) == 2  # huge parts: memory grows with the part size only


def source(**kw: object) -> Source:
    fields = {
        "bucket": "s",
        "key": "k",
        "version_id": "v",
        "etag": "abc",
        "size": 10,
        "last_modified": datetime(2026, 1, 1, tzinfo=UTC),
        "checksums": {"CRC32": "AAAA"},
        "checksum_type": "FULL_OBJECT",
        **kw,
    }
    return Source(**fields)  # type: ignore[arg-type]


def test_copy_verification_from_metadata() -> None:
    base = {"ContentLength": 10, "ETag": '"other-2"'}
    assert compare(source(), {**base, "ContentLength": 9}) is False
    full = {**base, "ChecksumType": "FULL_OBJECT"}
    assert compare(source(), {**full, "ChecksumCRC32": "AAAA"}) is True
    assert compare(source(), {**full, "ChecksumCRC32": "BBBB"}) is False
    composite = {**base, "ChecksumCRC32": "AAAA", "ChecksumType": "COMPOSITE"}
    assert compare(source(), composite) is None  # composite and full-object values differ in kind
    untyped = {**base, "ChecksumCRC32": "BBBB"}
    assert compare(source(), untyped) is None  # one side's kind unknown: do not trust a mismatch
    assert compare(source(), {**base, "ETag": '"abc"'}) is True
    assert compare(source(checksums={}), base) is None  # nothing decides: read both


def test_exit_codes() -> None:
    throttled = ClientError({"Error": {"Code": "SlowDown"}}, "UploadPart")
    broken = ClientError(
        {"Error": {"Code": "X"}, "ResponseMetadata": {"HTTPStatusCode": 503}}, "GetObject"
    )
    denied = ClientError({"Error": {"Code": "AccessDenied"}}, "GetObject")
    assert exit_code(BadInput("x")) == 65
    assert exit_code(Transient("x")) == 75
    assert exit_code(throttled) == exit_code(broken) == 75
    assert exit_code(EndpointConnectionError(endpoint_url="http://x")) == 75
    assert exit_code(denied) == 1
    assert exit_code(KeyError("bug")) == 1


def test_a_tree_masters_run_names_fit_beside_any_key() -> None:
    """The hls master carries two run names beyond its provenance: with any key length, all of
    it stays within S3's 2 KB of user metadata (the key is dropped for its digest when needed)."""
    from batch_job.tree_runs import METADATA_BYTES, REPLACED_METADATA, RUN_METADATA, new_run_id

    run = new_run_id("k", "v")
    for length in range(1500, 2100, 7):
        key = "k" * length
        original = Provenance("bucket", key, "v" * 32, "e" * 34, None, "2026-01-01T00:00:01.000Z")
        meta = {**original.metadata(reserve=METADATA_BYTES), RUN_METADATA: run}
        meta[REPLACED_METADATA] = run
        assert sum(len(k) + len(v) for k, v in meta.items()) <= 2048, length
