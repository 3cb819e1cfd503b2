"""What every `hls` output must be, checked from the output bucket alone: a parseable master
referencing one run directory, complete renditions, nothing else left beside them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import m3u8
import webvtt

from tests.conftest import Stack

OUTPUT = "CONVEYOR_OUTPUT_BUCKET"


@dataclass
class Tree:
    master: m3u8.M3U8
    head: dict[str, Any]
    run: str
    media: dict[int, m3u8.M3U8]
    """Each rendition's media playlist, by height."""
    keys: dict[str, dict[str, Any]]
    """Every object under the master's folder, by key."""


def read(stack: Stack, key: str) -> bytes:
    return stack.s3.get_object(Bucket=stack.settings[OUTPUT], Key=key)["Body"].read()


def listing(stack: Stack, prefix: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    pages = stack.s3.get_paginator("list_objects_v2").paginate(
        Bucket=stack.settings[OUTPUT], Prefix=prefix
    )
    for page in pages:
        found.update({o["Key"]: o for o in page.get("Contents", [])})
    return found


def check_tree(stack: Stack, master_key: str) -> Tree:
    """Assert the output's invariants; return what it holds."""
    folder = master_key.rpartition("/")[0] + "/"
    head = stack.s3.head_object(Bucket=stack.settings[OUTPUT], Key=master_key)
    master = m3u8.loads(read(stack, master_key).decode())
    assert master.is_variant
    runs = {p.uri.split("/")[0] for p in master.playlists}
    assert len(runs) == 1, runs
    [run] = runs
    assert head["Metadata"]["conveyor-hls-run"] == run
    keys = listing(stack, folder)
    # Nothing but the master and the one run directory it references.
    assert all(k == master_key or k.startswith(folder + run + "/") for k in keys), sorted(keys)
    media = {}
    for playlist in master.playlists:
        uri = folder + playlist.uri
        assert uri in keys
        parsed = m3u8.loads(read(stack, uri).decode())
        base = uri.rpartition("/")[0] + "/"
        assert parsed.is_endlist and parsed.playlist_type == "vod"
        assert base + parsed.segment_map[0].uri in keys
        durations = [s.duration for s in parsed.segments]
        assert all(d <= 6.1 for d in durations), durations
        assert all(abs(d - 6) < 0.1 for d in durations[:-1]), durations
        for segment in parsed.segments:
            assert base + segment.uri in keys, segment.uri
        media[playlist.stream_info.resolution[1]] = parsed
    assert all(head["LastModified"] >= o["LastModified"] for o in keys.values())
    data = {d.data_id: d.value for d in master.session_data}
    assert folder + data["com.conveyor.poster"] in keys
    vtt = webvtt.from_string(read(stack, folder + data["com.conveyor.thumbnails"]).decode())
    assert vtt.captions
    for caption in vtt.captions:
        sheet = caption.text.split("#", 1)[0]
        assert f"{folder}{run}/{sheet}" in keys
    return Tree(master, head, run, media, keys)
