"""An hls run as the ledger's `outputs`, from what a listing of its directory shows: for a job
that finds its master already written by an earlier run of its version (killed after the commit,
before it recorded), so the ledger and the "Object Processed" event still say what stands.

The entries match what a writing run records (batch_job.tree_upload.TreeUpload.outputs): a
playlist per rendition, with its segments counted, not listed; the poster, each sprite sheet,
the thumbnails' WebVTT. Init segments are listed nowhere, as when written."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from batch_job.transforms.hls import command

RENDITION = re.compile(r"(\d+)p")
"""A rendition's folder, named by its height (ladder.Rendition.name)."""
SPRITE = re.compile(r"sprite_\d+\.jpg")
SEGMENT = re.compile(r"seg_\d+\.m4s")
STREAM_INF = "#EXT-X-STREAM-INF:"
ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')


def describe_run(
    bucket: str,
    folder: str,
    run: str,
    listing: Iterable[tuple[str, int]],
    master: str | None = None,
) -> list[dict[str, Any]]:
    """The run's objects with a role, from `listing` (each object's name below
    `<folder><run>/` and its size); `master`, the master playlist's text if read, gives each
    playlist its width and bandwidths. Objects of no known role are left out."""
    prefix = f"{folder}{run}/"
    streams = stream_infos(master or "")
    playlists: dict[str, dict[str, Any]] = {}
    counts: dict[str, list[int]] = {}
    others: list[dict[str, Any]] = []
    for name, size in sorted(listing):
        parent, _, base = name.rpartition("/")
        height = RENDITION.fullmatch(parent)
        role = _role(name)
        if height and base == command.PLAYLIST:
            playlist = {**_entry(bucket, prefix + name, "playlist", size), "height": int(height[1])}
            playlists[parent] = {**playlist, **streams.get(f"{run}/{name}", {})}
        elif height and SEGMENT.fullmatch(base):
            counts.setdefault(parent, []).append(size)
        elif role is not None:
            others.append(_entry(bucket, prefix + name, role, size))
    described = []
    for parent, playlist in sorted(playlists.items(), key=lambda item: -item[1]["height"]):
        sizes = counts.get(parent, [])
        described.append({**playlist, "segments": len(sizes), "segment_bytes": sum(sizes)})
    return described + others


def _role(name: str) -> str | None:
    """The role of an object at the run directory's top."""
    if name == command.POSTER:
        return "poster"
    if SPRITE.fullmatch(name):
        return "sprite"
    if name == command.THUMBNAILS:
        return "thumbnails"
    return None


def _entry(bucket: str, key: str, role: str, size: int) -> dict[str, Any]:
    return {"bucket": bucket, "key": key, "role": role, "bytes": size}


def stream_infos(master: str) -> dict[str, dict[str, int]]:
    """Each variant's width and bandwidths by its URI, from the master's EXT-X-STREAM-INF."""
    found: dict[str, dict[str, int]] = {}
    pending: dict[str, int] | None = None
    for line in (raw.strip() for raw in master.splitlines()):
        if line.startswith(STREAM_INF):
            attributes = dict(ATTRIBUTE.findall(line[len(STREAM_INF) :]))
            pending = _numbers(attributes)
        elif line and not line.startswith("#") and pending is not None:
            found[line] = pending
            pending = None
    return found


def _numbers(attributes: dict[str, str]) -> dict[str, int]:
    numbers: dict[str, int] = {}
    width, _, _ = attributes.get("RESOLUTION", "").partition("x")
    for field, text in (
        ("width", width),
        ("bandwidth", attributes.get("BANDWIDTH", "")),
        ("average_bandwidth", attributes.get("AVERAGE-BANDWIDTH", "")),
    ):
        if text.isdigit():
            numbers[field] = int(text)
    return numbers
