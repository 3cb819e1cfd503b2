"""How `conveyor upload` decides, from listings, ETags and HEADs: pure, no AWS."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conveyor.errors import ConveyorError
from conveyor_cli.uploads.digest import Digests
from conveyor_cli.uploads.listing import UNKNOWN, Listed, list_keys, list_range, ranges
from conveyor_cli.uploads.plan import Action, Headed, by_etag, by_head, by_listing
from conveyor_cli.uploads.walk import files

LOCAL = Digests(size=100, crc64nvme="AAAAAAAAAAE=", etag="abc-2", part_size=50)


def test_a_listing_decides_new_files_and_other_sizes_only() -> None:
    assert by_listing(100, {"staging": None, "archive": None}).reason == "new"
    other = by_listing(100, {"staging": Listed(99, "x"), "archive": None})
    assert (other.action, other.reason) == (Action.UPLOAD, "content differs (size)")
    assert by_listing(100, {"staging": Listed(99, "x"), "archive": Listed(100, "y")}) is None


def test_a_matching_etag_skips_and_a_different_one_never_decides() -> None:
    same = by_etag(LOCAL, {"staging": None, "archive": Listed(100, "abc-2")})
    assert (same.action, same.reason) == (Action.SKIP, "same content already in archive")
    assert by_etag(LOCAL, {"staging": Listed(100, "other"), "archive": None}) is None
    proven = by_etag(LOCAL, {"staging": Listed(100, "copy-etag")}, known={"copy-etag"})
    assert proven.action is Action.SKIP
    assert by_etag(LOCAL, {"staging": Listed(101, "abc-2")}) is None  # never at another size


@given(st.text(max_size=8), st.integers(min_value=0, max_value=200))
def test_no_etag_but_ours_at_our_size_can_skip(etag: str, size: int) -> None:
    decision = by_etag(LOCAL, {"staging": Listed(size, etag)})
    assert (decision is not None) == (etag == LOCAL.etag and size == LOCAL.size)


def test_a_head_decides_by_the_full_object_crc() -> None:
    same = by_head(LOCAL, {"staging": Headed(100, "z", "AAAAAAAAAAE="), "archive": None})
    assert (same.action, same.reason) == (Action.SKIP, "same content already in staging")
    differs = by_head(LOCAL, {"staging": Headed(100, "z", "AAAAAAAAAAI=")})
    assert (differs.action, differs.reason) == (Action.UPLOAD, "content differs")
    unknown = by_head(LOCAL, {"staging": Headed(100, "z", None)})
    assert unknown.reason == "no checksum to compare with"
    gone = by_head(LOCAL, {"staging": None})  # deleted between the listing and the HEAD
    assert gone.action is Action.UPLOAD


class Pages:
    """ListObjectsV2 over a sorted key list, two keys a page."""

    def __init__(self, keys: list[str]) -> None:
        self.keys = sorted(keys)
        self.calls = 0

    def list_objects_v2(self, **request: Any) -> dict[str, Any]:
        self.calls += 1
        after = request.get("StartAfter", "")
        keys = [k for k in self.keys if k.startswith(request["Prefix"]) and k > after]
        start = int(request.get("ContinuationToken", 0))
        page_keys = keys[start : start + 2]
        more = start + 2 < len(keys)
        page: dict[str, Any] = {
            "Contents": [{"Key": k, "Size": 1, "ETag": f'"{k}"'} for k in page_keys],
            "IsTruncated": more,
        }
        if more:
            page["NextContinuationToken"] = str(start + 2)
        return page


def test_a_listing_past_its_budget_leaves_later_keys_to_a_head() -> None:
    s3 = Pages([f"p/{i}" for i in range(10)])
    listing = list_range(s3, "b", "p/", None, None, budget=4)
    assert s3.calls == 2  # stopped after the page that reached the budget
    assert listing.lookup("p/0") == Listed(1, "p/0")
    assert listing.lookup("p/3") == Listed(1, "p/3")
    assert listing.lookup("p/2x") is None  # inside the listed range: known to be absent
    assert listing.lookup("p/4") is UNKNOWN
    whole = list_range(Pages([f"p/{i}" for i in range(5)]), "b", "p/", None, None, budget=100)
    assert whole.lookup("p/9") is None and whole.lookup("p/4") == Listed(1, "p/4")


def test_each_range_of_local_keys_is_listed_from_the_key_before_it_to_its_last() -> None:
    keys = [f"p/{i:02}" for i in range(0, 40, 3)]  # 14 local keys
    assert ranges(keys, 5) == [(None, "p/12"), ("p/12", "p/27"), ("p/27", None)]
    s3 = Pages([f"p/{i:02}" for i in range(40)])  # the bucket holds every number
    calls: list[tuple] = []

    def run(call: Any, arguments: list[tuple]) -> list[Any]:
        calls.extend(arguments)
        return [call(*a) for a in arguments]

    merged = list_keys(s3, "b", "p/", keys, budget_per_key=1, minimum=0, run=run, size=5)
    assert [c[3:5] for c in calls] == [(None, "p/12"), ("p/12", "p/27"), ("p/27", None)]
    assert merged.lookup("p/00") == Listed(1, "p/00")
    for key in keys:  # every local key was either listed or left to a HEAD, never guessed
        found = merged.lookup(key)
        assert found == Listed(1, key) or found is UNKNOWN


def test_two_files_one_key_is_refused_before_anything_is_read(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.mov").write_bytes(b"x")
    with pytest.raises(ConveyorError, match=r"would both be uploaded as 'x\.mov'"):
        files([str(tmp_path / "a" / "x.mov"), str(tmp_path / "b" / "x.mov")], "")
    same = files([str(tmp_path / "a" / "x.mov"), str(tmp_path / "a" / "x.mov")], "")
    assert [f.key for f in same] == ["x.mov"]  # one file named twice is one file


def test_only_regular_files_and_keys_s3_can_hold(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")  # reading it would block the run forever
    (tmp_path / ("n" * 200)).write_bytes(b"ok")
    deep = tmp_path / "d" / ("x" * 250) / ("y" * 250) / ("z" * 250) / ("w" * 250) / "v"
    deep.mkdir(parents=True)
    (deep / ("long" * 5 + ".txt")).write_bytes(b"long")
    (tmp_path / os.fsdecode(b"bad-\xff.txt")).write_bytes(b"bad")
    os.symlink(tmp_path / "missing", tmp_path / "dangling")
    found = {f.key: f.problem for f in files([str(tmp_path)], "")}
    assert "pipe" not in found and "dangling" not in found
    assert found["n" * 200] is None
    long_key = next(k for k in found if k.endswith("long.txt"))
    assert "S3 keys are at most 1,024" in found[long_key]
    bad = next(k for k in found if k.startswith("bad-"))
    assert "not valid UTF-8" in found[bad]
