"""Bulk resubmission's pure decisions: when to go bulk, which versions share an array, tokens,
closing up the indexes of refused claims, and staging membership from one listing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conveyor import manifest
from conveyor.bulk.plan import (
    claim_token,
    close_up,
    common_prefix,
    goes_bulk,
    new_bulk_id,
    parse_token,
    plan_arrays,
)
from conveyor.bulk.staging import Listed, Staging
from conveyor.jobs import ARRAY_SIZE_MAX, JOB_NAME_MAX, array_job_name


def test_bulk_only_above_the_threshold_and_for_two_or_more() -> None:
    assert not goes_bulk(50, 50)
    assert goes_bulk(51, 50)
    assert not goes_bulk(1, 0)  # an array needs two children
    assert goes_bulk(2, 1)


def test_arrays_per_queue_and_definition_at_most_max_size_and_lone_ones_apart() -> None:
    members = [(f"a{i}", "q1", "d1") for i in range(5)]
    members += [("b0", "q2", "d1"), ("c0", "q1", "d2"), ("c1", "q1", "d2")]
    arrays, alone = plan_arrays(members, max_size=2)
    assert [(g.job_queue, g.job_definition, g.members) for g in arrays] == [
        ("q1", "d1", ("a0", "a1")),
        ("q1", "d1", ("a2", "a3")),
        ("q1", "d2", ("c0", "c1")),
    ]
    assert alone == ["a4", "b0"]
    with pytest.raises(ValueError):
        plan_arrays(members, max_size=1)


def test_ten_thousand_a_job_by_default() -> None:
    arrays, alone = plan_arrays((i, "q", "d") for i in range(ARRAY_SIZE_MAX * 2 + 3))
    assert [len(g.members) for g in arrays] == [ARRAY_SIZE_MAX, ARRAY_SIZE_MAX, 3]
    assert alone == []


@given(st.lists(st.booleans(), max_size=300))
def test_closing_up_fills_every_hole_and_moves_no_more_than_were_refused(
    claimed: list[bool],
) -> None:
    moves = close_up(claimed)
    slots = list(claimed)
    for source, target in moves:
        assert slots[source] and not slots[target] and target < source
        slots[source], slots[target] = False, True
    count = sum(claimed)
    assert slots == [True] * count + [False] * (len(claimed) - count)
    assert len(moves) <= claimed.count(False)


def test_tokens_name_bulk_and_index_and_nothing_else_parses() -> None:
    bulk = new_bulk_id(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), b"\x1a\x2b\x3c\x4d")
    assert bulk == "20260102T030405Z-1a2b3c4d"
    assert manifest.BULK_ID.match(bulk)
    assert len(array_job_name(bulk)) <= JOB_NAME_MAX
    assert parse_token(claim_token(bulk, 9999)) == (bulk, 9999)
    for other in (None, "", "4f2a9c", "bulk:x", "bulk::1", "bulk:x:-1", "bulk:x:1:2", 7):
        assert parse_token(other) is None


def test_one_listing_prefix_covers_every_key() -> None:
    assert common_prefix(["in/a/1", "in/a/2", "in/b"]) == "in/"
    assert common_prefix(["x"]) == "x"
    assert common_prefix(["a", "b"]) == ""


def test_staging_holds_a_version_by_id_or_the_current_object_by_etag() -> None:
    staging = Staging(
        {
            "k": [Listed("k", "v2", "e2", 1, True), Listed("k", "v1", "e1", 1, False)],
            "plain": [Listed("plain", None, "e9", 1, True)],
        }
    )
    assert staging.holds("k", "v1", "e1") and staging.holds("k", "v2", "")
    assert not staging.holds("k", "v3", "e1") and not staging.holds("other", "v1", "e1")
    assert staging.holds("plain", None, '"e9"') and not staging.holds("plain", None, "e8")
    assert not staging.holds("k", None, "e1")  # not the current object's bytes
    assert [v.version_id for v in staging.with_etag("k", "e1")] == ["v1"]
