"""An array job's manifest: the job spec of every child, one fixed-width record each, so child
i reads only the header and its own record (two range GETs), never the whole file.

Layout: a JSON header padded with spaces to exactly HEADER_BYTES bytes including its newline,
`{"conveyor_manifest": 1, "count": N, "width": W, "bulk_id": "..."}`; then N records, record i
at byte HEADER_BYTES + i * W, each a JSON object (the i-th version's `JobSpec.parameters()`,
the manifest parameter empty) padded with spaces to W - 1 bytes and a newline. Records are
ASCII JSON (`ensure_ascii`), so no key, however odd, can hold a raw newline or change a width.

A manifest is written once (PutObject If-None-Match: *) under `.conveyor/manifests/` of the
archive bucket and never overwritten.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from conveyor.errors import BadInput
from conveyor.s3 import PRECONDITION_FAILED, error_code

FORMAT = 1
HEADER_BYTES = 256
PREFIX = ".conveyor/manifests/"
"""Where manifests live in the archive bucket; `conveyor reprocess` skips `.conveyor/`."""
RESERVED_PREFIX = ".conveyor/"
SUFFIX = ".jsonl"
BULK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
"""A bulk id names a manifest key and a Batch job name (`conveyor-bulk-<id>`)."""
HEADER_CACHE = 256
"""Headers a `ManifestReader` keeps (one per manifest: a warm Lambda sees a few at a time)."""


class ManifestError(BadInput):
    """A manifest (or the index asked of it) that can never be read: the job's input is bad."""


@dataclass(frozen=True)
class Header:
    count: int
    width: int
    bulk_id: str

    def record_range(self, index: int) -> tuple[int, int]:
        """First and last byte (inclusive, as HTTP Range wants) of record `index`."""
        if not 0 <= index < self.count:
            raise ManifestError(
                f"array index {index} is out of range: manifest {self.bulk_id} holds "
                f"{self.count} records"
            )
        start = HEADER_BYTES + index * self.width
        return start, start + self.width - 1

    @property
    def size(self) -> int:
        """The manifest's length in bytes."""
        return HEADER_BYTES + self.count * self.width


# --- pure encoding ------------------------------------------------------------------------


def encode(bulk_id: str, records: Sequence[Mapping[str, str]]) -> bytes:
    """The manifest of `records` (one job's parameters each), in order."""
    check_bulk_id(bulk_id)
    if not records:
        raise ValueError("a manifest holds at least one record")
    bodies = [_record_json(record) for record in records]
    width = max(len(body) for body in bodies) + 1
    header = json.dumps(
        {"conveyor_manifest": FORMAT, "count": len(bodies), "width": width, "bulk_id": bulk_id}
    ).encode()
    if len(header) >= HEADER_BYTES:
        raise ValueError(f"manifest header longer than {HEADER_BYTES - 1} bytes")
    parts = [header.ljust(HEADER_BYTES - 1) + b"\n"]
    parts += [body.ljust(width - 1) + b"\n" for body in bodies]
    return b"".join(parts)


def decode_header(raw: bytes) -> Header:
    """The header from the manifest's first HEADER_BYTES bytes; ManifestError if it is none."""
    if len(raw) != HEADER_BYTES or not raw.endswith(b"\n"):
        raise ManifestError(f"not a manifest: its header is not {HEADER_BYTES} bytes")
    fields = _json_object(raw, "header")
    count, width, bulk_id = fields.get("count"), fields.get("width"), fields.get("bulk_id")
    if (
        fields.get("conveyor_manifest") != FORMAT
        or not _positive(count)
        or not _positive(width)
        or not isinstance(bulk_id, str)
    ):
        raise ManifestError(f"not a conveyor manifest (format {FORMAT}) header: {fields!r:.200}")
    return Header(count=count, width=width, bulk_id=bulk_id)


def decode_record(raw: bytes, header: Header) -> dict[str, str]:
    """One record's parameters from exactly its `header.width` bytes."""
    if len(raw) != header.width or not raw.endswith(b"\n"):
        raise ManifestError(
            f"manifest {header.bulk_id}: a record must be {header.width} bytes ending in a "
            f"newline, got {len(raw)}"
        )
    fields = _json_object(raw, "record")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items()):
        raise ManifestError(f"manifest {header.bulk_id}: a record's values must be strings")
    return dict(fields)


def decode(data: bytes) -> tuple[Header, list[dict[str, str]]]:
    """A whole manifest (the operator's re-run reads its own; children never do)."""
    header = decode_header(data[:HEADER_BYTES])
    if len(data) != header.size:
        raise ManifestError(
            f"manifest {header.bulk_id} is {len(data)} bytes, its header says {header.size}"
        )
    return header, [
        decode_record(data[slice(*_span(header, i))], header) for i in range(header.count)
    ]


def check_bulk_id(bulk_id: str) -> str:
    if not BULK_ID.match(bulk_id):
        raise ValueError(f"not a bulk id: {bulk_id!r} (letters, digits, - and _, at most 64)")
    return bulk_id


def key_for(bulk_id: str) -> str:
    return f"{PREFIX}{check_bulk_id(bulk_id)}{SUFFIX}"


def uri_for(bucket: str, bulk_id: str) -> str:
    return f"s3://{bucket}/{key_for(bulk_id)}"


def parse_uri(uri: str) -> tuple[str, str]:
    """Bucket and key of a manifest's s3:// URI; ManifestError for anything else."""
    match = re.fullmatch(r"s3://([^/]+)/(.+)", uri)
    if not match or not match.group(2).startswith(PREFIX):
        raise ManifestError(f"not a manifest URI: {uri!r} (s3://BUCKET/{PREFIX}ID{SUFFIX})")
    return match.group(1), match.group(2)


# --- S3 ------------------------------------------------------------------------------------


def write(s3: Any, bucket: str, bulk_id: str, records: Sequence[Mapping[str, str]]) -> str:
    """Put the manifest once (If-None-Match: *) and return its URI. A retry whose first try
    landed (response lost) meets its own bytes and is fine; other bytes there are an error."""
    body = encode(bulk_id, records)
    key = key_for(bulk_id)
    try:
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=body,
            IfNoneMatch="*",
            ContentType="application/x-ndjson",
        )
    except ClientError as err:
        if error_code(err) not in PRECONDITION_FAILED:
            raise
        stored = s3.head_object(Bucket=bucket, Key=key)
        if stored["ETag"].strip('"') != hashlib.md5(body, usedforsecurity=False).hexdigest():
            raise ValueError(f"s3://{bucket}/{key} already holds another manifest") from err
    return f"s3://{bucket}/{key}"


def read_all(s3: Any, uri: str) -> tuple[Header, list[dict[str, str]]]:
    bucket, key = parse_uri(uri)
    return decode(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


class ManifestReader:
    """Reads one record at a time with range GETs, keeping each manifest's header (manifests
    never change), so a warm Lambda pays one GET per event after the first."""

    def __init__(self, s3: Any, cache_size: int = HEADER_CACHE) -> None:
        self._s3 = s3
        self._headers: OrderedDict[str, Header] = OrderedDict()
        self._cache_size = cache_size

    def header(self, uri: str) -> Header:
        if uri in self._headers:
            self._headers.move_to_end(uri)
            return self._headers[uri]
        header = decode_header(self._range(uri, 0, HEADER_BYTES - 1))
        self._headers[uri] = header
        while len(self._headers) > self._cache_size:
            self._headers.popitem(last=False)
        return header

    def record(self, uri: str, index: int) -> dict[str, str]:
        """Record `index`'s parameters; ManifestError when it cannot exist, S3's ClientError
        (a transient failure, or the manifest gone) as S3 raised it."""
        header = self.header(uri)
        start, end = header.record_range(index)
        return decode_record(self._range(uri, start, end), header)

    def _range(self, uri: str, first: int, last: int) -> bytes:
        bucket, key = parse_uri(uri)
        body = self._s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={first}-{last}")
        return bytes(body["Body"].read())


def _record_json(record: Mapping[str, str]) -> bytes:
    return json.dumps(dict(record), ensure_ascii=True, separators=(",", ":")).encode("ascii")


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ManifestError(f"malformed manifest {what}: {err}") from err
    if not isinstance(value, dict):
        raise ManifestError(f"malformed manifest {what}: not a JSON object")
    return value


def _positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _span(header: Header, index: int) -> tuple[int, int]:
    start, end = header.record_range(index)
    return start, end + 1
