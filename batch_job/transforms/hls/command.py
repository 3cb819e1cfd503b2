"""The one ffmpeg command of an `hls` job: the input read once, every rendition encoded from it as
CMAF (fragmented MP4) segments with a media playlist each, a poster and the sprite sheets, all
written into a scratch directory (see stream.py for how they leave it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from batch_job.transforms import ffmpeg
from batch_job.transforms.hls.ladder import Rendition
from conveyor.routing import RUNG_HEIGHTS

SEGMENT_SECONDS = 6
KEYFRAME_SECONDS = 2
"""A keyframe every 2 s (scene cuts add none), so every segment is 6 s but the last."""
PLAYLIST = "index.m3u8"
SEGMENT = "seg_%05d.m4s"
INIT = "init.mp4"
"""ffmpeg names each rendition's `init_<n>.mp4`; the media playlist says which (EXT-X-MAP)."""
LONGEST_OBJECT = f"{RUNG_HEIGHTS[1]}p/" + SEGMENT % 0
"""The longest key a run holds, below its directory: the tallest rendition's segments (a source
below every rung gets a rendition at its own, lower, height)."""
POSTER = "poster.jpg"
SPRITE = "sprite_%03d.jpg"
THUMBNAIL = 160
"""A thumbnail's longer side, in pixels."""
THUMBNAILS = "thumbnails.vtt"
AUDIO_BITRATE = "128k"
PRESET = "veryfast"
POSTER_SECONDS = 5.0
POSTER_FRACTION = 0.1
"""The poster is the frame at 10 % of the video, at most 5 s in (past a black lead-in)."""


@dataclass(frozen=True)
class Sprites:
    """Thumbnails every `interval` seconds, `width` x `height`, tiled `columns` x `rows` a sheet."""

    interval: int
    width: int
    height: int
    columns: int = 10
    rows: int = 10

    @property
    def per_sheet(self) -> int:
        return self.columns * self.rows


@dataclass(frozen=True)
class Encode:
    renditions: tuple[Rendition, ...]
    """Tallest first."""
    has_audio: bool
    poster_at: float
    sprites: Sprites
    preset: str = PRESET


def plan_encode(
    renditions: Sequence[Rendition], *, has_audio: bool, duration: float | None
) -> Encode:
    """Where the poster is taken and how often a thumbnail is, from the video's duration:
    one thumbnail per 1 % of it, between every 1 s and every 10 s."""
    seconds = duration or 0.0
    top = renditions[0]
    interval = min(10, max(1, round(seconds / 100)))
    width, height = thumbnail_size(top.width, top.height)
    return Encode(
        renditions=tuple(renditions),
        has_audio=has_audio,
        poster_at=round(min(POSTER_FRACTION * seconds, POSTER_SECONDS), 3),
        sprites=Sprites(interval=interval, width=width, height=height),
    )


def thumbnail_size(width: int, height: int) -> tuple[int, int]:
    """A thumbnail's size: the frame's aspect within THUMBNAIL x THUMBNAIL, both even and at
    least 2. Bounding the longer side keeps a sheet (10 x 10 of them) far inside JPEG's 65,535
    pixels however extreme the aspect (a 64x4320 source's were 108,000 pixels high)."""
    if width >= height:
        return THUMBNAIL, _even(THUMBNAIL * height / width)
    return _even(THUMBNAIL * width / height), THUMBNAIL


def _even(size: float) -> int:
    return max(2, round(size / 2) * 2)


def filter_graph(encode: Encode) -> str:
    """The decoded video split once: one scaled copy per rendition, one for the poster, one for
    the sprites. The poster's branch ends a second after its frame (trim), so the split stops
    feeding it."""
    count = len(encode.renditions)
    names = "".join(f"[v{i}]" for i in range(count))
    parts = [f"[0:v:0]split={count + 2}{names}[vp][vs]"]
    for i, r in enumerate(encode.renditions):
        parts.append(f"[v{i}]scale={r.width}:{r.height},setsar=1,format=yuv420p[o{i}]")
    top, at, s = encode.renditions[0], encode.poster_at, encode.sprites
    parts.append(
        f"[vp]trim=start={at}:end={at + 1},scale={top.width}:{top.height},setsar=1,"
        "format=yuvj420p[poster]"
    )
    parts.append(
        f"[vs]fps=1/{s.interval},scale={s.width}:{s.height},setsar=1,format=yuvj420p,"
        f"tile={s.columns}x{s.rows}[sprites]"
    )
    return ";".join(parts)


def hls_args(encode: Encode, url: str, headers: Mapping[str, str] | None = None) -> list[str]:
    """ffmpeg's argv, run in the scratch directory (every output path is relative to it)."""
    maps: list[str] = []
    rates: list[str] = []
    variants: list[str] = []
    for i, r in enumerate(encode.renditions):
        maps += ["-map", f"[o{i}]"]
        if encode.has_audio:
            maps += ["-map", "0:a:0"]
        rates += [
            f"-b:v:{i}",
            f"{r.video_kbps}k",
            f"-maxrate:v:{i}",
            f"{r.maxrate_kbps}k",
            f"-bufsize:v:{i}",
            f"{r.bufsize_kbps}k",
        ]
        variants.append(
            f"v:{i},a:{i},name:{r.name}" if encode.has_audio else f"v:{i},name:{r.name}"
        )
    jpeg = ["-c:v", "mjpeg", "-q:v", "3", "-fps_mode", "passthrough", "-f", "image2"]
    return [
        *ffmpeg.reading(url, headers),
        "-filter_complex",
        filter_graph(encode),
        # The renditions: H.264 high + AAC stereo, CMAF segments, one media playlist each.
        *maps,
        "-sn",
        "-dn",
        "-map_metadata",
        "-1",
        "-map_chapters",
        "-1",
        "-c:v",
        "libx264",
        "-profile:v",
        "high",
        "-preset",
        encode.preset,
        *rates,
        "-force_key_frames",
        f"expr:gte(t,n_forced*{KEYFRAME_SECONDS})",
        "-sc_threshold",
        "0",
        "-c:a",
        "aac",
        "-b:a",
        AUDIO_BITRATE,
        "-ac",
        "2",
        "-f",
        "hls",
        "-hls_segment_type",
        "fmp4",
        "-hls_time",
        str(SEGMENT_SECONDS),
        "-hls_playlist_type",
        "vod",
        "-hls_flags",
        "temp_file+independent_segments",
        "-hls_fmp4_init_filename",
        INIT,
        "-hls_segment_filename",
        f"%v/{SEGMENT}",
        "-var_stream_map",
        " ".join(variants),
        f"%v/{PLAYLIST}",
        # The poster: one frame; the sprite sheets: every thumbnail, 100 a sheet.
        "-map",
        "[poster]",
        *jpeg,
        "-frames:v",
        "1",
        "-update",
        "1",
        "-atomic_writing",
        "1",
        POSTER,
        "-map",
        "[sprites]",
        *jpeg,
        "-atomic_writing",
        "1",
        SPRITE,
    ]
