import pytest

from conveyor.objects import ObjectVersion, compare_sequencers, version_ref


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("0055AED6DCD90281E5", "0055AED6DCD90281E5", 0),
        ("0055AED6DCD90281E5", "0055AED6DCD90281E6", -1),
        # A shorter sequencer is right-padded with zeros before comparing.
        ("0055AED6DCD9028", "0055AED6DCD90281E5", -1),
        ("0055AED6DCD90290", "0055AED6DCD90281E5", 1),
        ("0055AED6DCD902810", "0055AED6DCD90281", 0),
        ("0055aed6dcd90281e5", "0055AED6DCD90281E4", 1),
    ],
)
def test_compare_sequencers(a: str, b: str, expected: int) -> None:
    assert compare_sequencers(a, b) == expected
    assert compare_sequencers(b, a) == -expected


def test_padding_is_not_numeric_comparison() -> None:
    # As numbers 0x1 < 0x10, but sequencers pad on the right: "1" -> "10" equals "10".
    assert compare_sequencers("1", "10") == 0
    assert compare_sequencers("2", "10") == 1


def test_ref_prefers_version_id_and_falls_back_to_etag() -> None:
    assert ObjectVersion("b", "k", '"abc"', 1, version_id="v1").ref == "v#v1"
    assert ObjectVersion("b", "k", '"abc"', 1).ref == "e#abc"
    assert ObjectVersion("b", "k", "abc", 1, version_id="null").ref == "e#abc"
    assert version_ref(None, '"abc"') == "e#abc"


def test_folder_marker() -> None:
    assert ObjectVersion("b", "photos/", "e", 0).is_folder_marker
    assert not ObjectVersion("b", "photos/", "e", 5).is_folder_marker
    assert not ObjectVersion("b", "empty.txt", "e", 0).is_folder_marker
