"""The web page's keys: a person's files under their own prefix, names that cannot escape it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from web_api.keys import (
    FILE_ID,
    clean_name,
    file_prefix,
    new_file_id,
    parse_key,
    safe_name,
    upload_key,
    user_prefix,
)

SUB = "3f1c9a52-7d0e-4b8e-9a61-2f4d5c6b7a80"
NOW = datetime(2026, 11, 28, 10, 55, 12, 345000, tzinfo=UTC)


def test_a_file_id_is_the_utc_second_and_eight_hex() -> None:
    assert new_file_id(NOW, "4f9c2a1b") == "20261128T105512Z-4f9c2a1b"
    made = new_file_id(NOW)
    assert FILE_ID.match(made) and made.startswith("20261128T105512Z-")
    assert new_file_id(NOW) != made  # random: two uploads in one second do not share a folder


def test_file_ids_sort_by_time() -> None:
    earlier = new_file_id(datetime(2026, 11, 28, 9, 59, 59, tzinfo=UTC), "ffffffff")
    assert earlier < new_file_id(NOW, "00000000")


def test_a_file_id_of_another_shape_is_refused() -> None:
    with pytest.raises(ValueError):
        new_file_id(NOW, "../../x")
    for bad in ("", "20261128T105512Z-4F9C2A1B", "20261128T105512Z-4f9c2a1b/..", "../x"):
        with pytest.raises(ValueError):
            file_prefix(SUB, bad)


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("clip.mov", "clip.mov"),
        ("../x", "x"),
        ("../../etc/passwd", "etcpasswd"),
        ("a/b", "ab"),
        ("a\\b", "ab"),
        ("tab\there", "tabhere"),
        ("nul\x00esc\x1b[2Jdel\x7fc1\x85\x9f.mp4", "nulesc[2Jdelc1.mp4"),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),  # the RTL override that shows it as .jpg
        ("\u2066isolate\u2069\u200f.mov", "isolate.mov"),
        ("line\u2028break.mov", "linebreak.mov"),
        (".hidden", "hidden"),
        ("...", "file"),
        (" . . . ", "file"),
        ("", "file"),
        ("\x00\x01/\\", "file"),
        ("  spaced name.mov  ", "spaced name.mov"),
        ("vidéo ü 日本語.mov", "vidéo ü 日本語.mov"),
    ],
)
def test_hostile_names_are_made_safe(name: str, safe: str) -> None:
    assert safe_name(name) == safe


def test_a_long_name_is_cut_to_200_bytes_keeping_its_extension() -> None:
    assert safe_name("a" * 300 + ".mp4") == "a" * 196 + ".mp4"
    cut = safe_name("é" * 150 + ".mov")  # 2 bytes each: never half a character
    assert cut == "é" * 98 + ".mov" and len(cut.encode()) == 200
    cut = safe_name("日" * 100)  # 3 bytes each, no extension
    assert cut == "日" * 66 and len(cut.encode()) == 198


def test_an_extension_too_long_to_keep_is_cut_with_the_rest() -> None:
    cut = safe_name("x." + "y" * 300)
    assert cut == ("x." + "y" * 300)[:200]
    assert safe_name("." + "z" * 300) == "z" * 200  # a leading dot is no extension


def test_clean_name_says_when_nothing_is_left() -> None:
    assert clean_name("../") == ""
    assert clean_name("\u202e") == ""
    assert clean_name("ok.mov") == "ok.mov"


def test_keys_round_trip() -> None:
    key = upload_key(SUB, "20261128T105512Z-4f9c2a1b", "../my clip.mov")
    assert key == f"uploads/{SUB}/20261128T105512Z-4f9c2a1b/my clip.mov"
    parsed = parse_key(key)
    assert parsed is not None
    assert (parsed.sub, parsed.file_id, parsed.name, parsed.key) == (
        SUB,
        "20261128T105512Z-4f9c2a1b",
        "my clip.mov",
        key,
    )


@pytest.mark.parametrize(
    "key",
    [
        "videos/cat.mov",
        f"uploads/{SUB}/cat.mov",
        f"uploads/{SUB}/20261128T105512Z-4f9c2a1b/",
        f"uploads/{SUB}/20261128T105512Z-4f9c2a1b/a/b.mov",
        f"uploads/{SUB}/not-an-id/cat.mov",
        "uploads/../20261128T105512Z-4f9c2a1b/cat.mov",
    ],
)
def test_keys_of_another_shape_are_not_files(key: str) -> None:
    assert parse_key(key) is None


@pytest.mark.parametrize("sub", ["", "a/b", "..", "../x", "-x", "a" * 129, "a b"])
def test_a_sub_that_could_leave_its_folder_is_refused(sub: str) -> None:
    with pytest.raises(ValueError):
        user_prefix(sub)


@given(
    sub=st.uuids().map(str),
    moment=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2999, 12, 31), timezones=st.just(UTC)
    ),
    token=st.text("0123456789abcdef", min_size=8, max_size=8),
    name=st.text(max_size=400),
)
def test_every_key_stays_in_the_users_folder(
    sub: str, moment: datetime, token: str, name: str
) -> None:
    file_id = new_file_id(moment, token)
    key = upload_key(sub, file_id, name)
    assert key.startswith(user_prefix(sub))
    assert key.startswith(file_prefix(sub, file_id))
    parts = key.split("/")
    assert len(parts) == 4 and all(parts)
    assert len(key.encode()) <= 1024
    assert len(parts[3].encode()) <= 200
    assert parse_key(key) is not None


def test_no_persons_prefix_holds_anothers() -> None:
    a = str(uuid.uuid4())
    assert not user_prefix(a + "0").startswith(user_prefix(a))  # the slash ends each folder
    assert not user_prefix(a).startswith(user_prefix(a[:-1]))
