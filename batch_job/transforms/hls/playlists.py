"""The playlists we read (ffmpeg's media playlists) and the one we write (the master), with the
numbers the master promises a player: peak and average bandwidth, codecs, size, frame rate."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from batch_job.errors import BadInput

POSTER_ID = "com.conveyor.poster"
THUMBNAILS_ID = "com.conveyor.thumbnails"
AUDIO_CODEC = "mp4a.40.2"
"""AAC-LC, what every rendition's audio is encoded as."""


@dataclass(frozen=True)
class Media:
    """A media playlist as ffmpeg wrote it."""

    init: str
    segments: tuple[tuple[str, float], ...]
    """Each segment's URI (relative to the playlist) and EXTINF duration."""
    target: int


def parse_media(text: str) -> Media:
    """The init segment (EXT-X-MAP), the segments and the target duration of a VOD playlist."""
    init, target, pending = "", 0, None
    segments: list[tuple[str, float]] = []
    for line in (raw.strip() for raw in text.splitlines()):
        if line.startswith("#EXT-X-MAP:"):
            init = line.split('URI="', 1)[1].split('"', 1)[0]
        elif line.startswith("#EXT-X-TARGETDURATION:"):
            target = int(line.split(":", 1)[1])
        elif line.startswith("#EXTINF:"):
            pending = float(line.split(":", 1)[1].split(",", 1)[0])
        elif line and not line.startswith("#"):
            if pending is None:
                raise ValueError(f"segment {line!r} has no EXTINF")
            segments.append((line, pending))
            pending = None
    if not init or not segments:
        raise BadInput("ffmpeg wrote a media playlist without an init segment or segments")
    return Media(init, tuple(segments), target)


def peak_bandwidth(durations: Sequence[float], sizes: Sequence[int], target: int) -> int:
    """The peak segment bit rate (draft-pantos-hls-rfc8216bis, 4.1): the highest rate of any run
    of consecutive segments lasting 0.5 to 1.5 target durations; when none does (a video shorter
    than half a segment), the highest single segment's."""
    low, high = 0.5 * target, 1.5 * target
    best = 0.0
    for start in range(len(durations)):
        seconds, bits = 0.0, 0
        for end in range(start, len(durations)):
            seconds += durations[end]
            bits += 8 * sizes[end]
            if seconds > high:
                break
            if seconds >= low:
                best = max(best, bits / seconds)
    if best == 0.0:
        best = max(8 * size / max(d, 1e-3) for d, size in zip(durations, sizes, strict=True))
    return math.ceil(best)


def average_bandwidth(durations: Sequence[float], sizes: Sequence[int]) -> int:
    """Every segment's bits over the playlist's duration."""
    return math.ceil(8 * sum(sizes) / max(sum(durations), 1e-3))


def avc_codec(init: bytes) -> str:
    """`avc1.PPCCLL` from the init segment's avcC box (profile, constraints, level as x264 set
    them: the encoder may pick a lower profile than asked for)."""
    at = init.find(b"avcC")
    if at < 0 or len(init) < at + 8:
        raise RuntimeError("the init segment has no avcC box")
    return "avc1." + init[at + 5 : at + 8].hex()


@dataclass(frozen=True)
class Variant:
    uri: str
    """The media playlist, relative to the master."""
    bandwidth: int
    average_bandwidth: int
    width: int
    height: int
    video_codec: str
    has_audio: bool
    frame_rate: float | None


def master(variants: Sequence[Variant], *, poster: str | None, thumbnails: str | None) -> str:
    """The master playlist: every variant, highest bandwidth first, and where the poster and
    the thumbnails' WebVTT are (EXT-X-SESSION-DATA, their paths as VALUE: a session data URI
    must name JSON, RFC 8216 4.3.4.4)."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for name, uri in ((POSTER_ID, poster), (THUMBNAILS_ID, thumbnails)):
        if uri:
            lines.append(f'#EXT-X-SESSION-DATA:DATA-ID="{name}",VALUE="{uri}"')
    for v in sorted(variants, key=lambda v: -v.bandwidth):
        codecs = f"{v.video_codec},{AUDIO_CODEC}" if v.has_audio else v.video_codec
        attributes = [
            f"BANDWIDTH={v.bandwidth}",
            f"AVERAGE-BANDWIDTH={v.average_bandwidth}",
            f"RESOLUTION={v.width}x{v.height}",
            f'CODECS="{codecs}"',
        ]
        if v.frame_rate:
            attributes.append(f"FRAME-RATE={v.frame_rate:.3f}")
        lines += ["#EXT-X-STREAM-INF:" + ",".join(attributes), v.uri]
    return "\n".join(lines) + "\n"
