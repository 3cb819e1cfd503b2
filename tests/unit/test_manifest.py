"""The manifest: any job parameters survive it, and record i is exactly its own byte range."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conveyor import manifest
from conveyor.jobs import PARAMETERS, JobSpec
from conveyor.manifest import HEADER_BYTES, ManifestError, decode_header, decode_record, encode
from conveyor.objects import ObjectVersion

keys = st.text(min_size=1, max_size=300)  # unicode, newlines, quotes, backslashes, NUL...
specs = st.builds(
    lambda key, version_id, size, transform, argv: JobSpec(
        ObjectVersion("staging", key, "0123abcd", size, version_id), transform, None, argv
    ),
    key=keys,
    version_id=st.one_of(st.none(), st.text(alphabet="abcdefXYZ0123456789._", min_size=1)),
    size=st.integers(min_value=0, max_value=5 * 1024**4),
    transform=st.sampled_from(["copy", "gzip", "command", "h264-720p"]),
    argv=st.one_of(st.none(), st.lists(st.text(min_size=1), min_size=1, max_size=3).map(tuple)),
)
bulk_ids = st.from_regex(manifest.BULK_ID, fullmatch=True)


@given(bulk_id=bulk_ids, records=st.lists(specs.map(JobSpec.parameters), min_size=1, max_size=20))
def test_every_record_is_decoded_from_exactly_its_byte_range(
    bulk_id: str, records: list[dict[str, str]]
) -> None:
    data = encode(bulk_id, records)
    header = decode_header(data[:HEADER_BYTES])
    assert (header.count, header.bulk_id, header.size) == (len(records), bulk_id, len(data))
    for index, record in enumerate(records):
        first, last = header.record_range(index)
        assert decode_record(data[first : last + 1], header) == record
        assert JobSpec.from_parameters(record) == JobSpec.from_parameters(
            decode_record(data[first : last + 1], header)
        )
    assert manifest.decode(data) == (header, records)


@given(records=st.lists(specs.map(JobSpec.parameters), min_size=1, max_size=5))
def test_one_line_each_header_padded_to_its_fixed_size(records: list[dict[str, str]]) -> None:
    data = encode("b1", records)
    lines = data.split(b"\n")[:-1]
    assert len(lines) == 1 + len(records)  # no key can add a line
    assert len(lines[0]) + 1 == HEADER_BYTES
    assert json.loads(lines[0]) == {
        "conveyor_manifest": 1,
        "count": len(records),
        "width": len(lines[1]) + 1,
        "bulk_id": "b1",
    }
    assert len({len(line) for line in lines[1:]}) == 1


def test_records_are_job_parameters_with_an_empty_manifest() -> None:
    spec = JobSpec(ObjectVersion("b", "k", "e", 1, "v"), "copy")
    [record] = manifest.decode(encode("b1", [spec.parameters()]))[1]
    assert set(record) == set(PARAMETERS) and record["manifest"] == ""


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: HEADER_BYTES - 1],
        lambda data: b"x" * HEADER_BYTES,
        lambda data: (
            b'{"conveyor_manifest": 2, "count": 1, "width": 9, "bulk_id": "b"}'.ljust(
                HEADER_BYTES - 1
            )
            + b"\n"
        ),
        lambda data: (
            b'{"conveyor_manifest": 1, "count": 0, "width": 9, "bulk_id": "b"}'.ljust(
                HEADER_BYTES - 1
            )
            + b"\n"
        ),
    ],
)
def test_a_damaged_header_is_bad_input(damage: object) -> None:
    data = encode("b1", [{"key": "k"}])
    with pytest.raises(ManifestError):
        decode_header(damage(data)[:HEADER_BYTES])  # type: ignore[operator]


def test_an_index_out_of_range_or_a_damaged_record_is_bad_input() -> None:
    data = encode("b1", [{"key": "a"}, {"key": "b"}])
    header = decode_header(data[:HEADER_BYTES])
    with pytest.raises(ManifestError, match="out of range"):
        header.record_range(2)
    with pytest.raises(ManifestError, match="out of range"):
        header.record_range(-1)
    first, last = header.record_range(1)
    with pytest.raises(ManifestError):
        decode_record(data[first:last], header)  # one byte short
    with pytest.raises(ManifestError):
        decode_record(b"[1]".ljust(header.width - 1) + b"\n", header)
    with pytest.raises(ManifestError):
        manifest.decode(data + b"x")


def test_uris_name_the_manifests_folder_of_the_archive() -> None:
    uri = manifest.uri_for("archive", "20260102T030405Z-1a2b3c4d")
    assert uri == "s3://archive/.conveyor/manifests/20260102T030405Z-1a2b3c4d.jsonl"
    assert manifest.parse_uri(uri) == (
        "archive",
        ".conveyor/manifests/20260102T030405Z-1a2b3c4d.jsonl",
    )
    for bad in ("s3://archive/other/x.jsonl", "https://x/y", "archive/.conveyor/manifests/x"):
        with pytest.raises(ManifestError):
            manifest.parse_uri(bad)
    with pytest.raises(ValueError):
        manifest.key_for("../escape")
