"""`hls`: an adaptive-bitrate ladder (H.264 + AAC, CMAF segments of ~6 s, a media playlist per
rendition), a poster, sprite sheets with their WebVTT index, and the master playlist, written
last. One ffmpeg reads the input once; each file leaves the scratch directory for S3 as soon as
ffmpeg finishes it (stream.py); the master is committed only once every rendition is complete."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Protocol

from batch_job.transforms import ffmpeg
from batch_job.transforms.base import Context
from batch_job.transforms.hls import command, ladder, outputs, playlists, thumbnails
from batch_job.transforms.hls.stream import Streamed, stream_files

MPEGURL = "application/vnd.apple.mpegurl"
CONTENT_TYPES = {".m4s": "video/mp4", ".mp4": "video/mp4", ".jpg": "image/jpeg"}


class Tree(Protocol):
    """Where a tree transform puts its objects (batch_job.tree_upload.TreeUpload)."""

    run_id: str

    def put(
        self, relative: str, body: bytes, content_type: str, role: str | None = None, **extras: Any
    ) -> None: ...

    def set_master(self, body: bytes) -> None: ...


class Hls:
    name = "hls"
    output_template = "{key}.hls/master.m3u8"
    content_type = MPEGURL
    writes_tree = True
    """The master playlist is the output; what it references lives in a run directory."""
    longest_object = command.LONGEST_OBJECT
    """Its longest key within the run directory, for the key-length check at plan time."""

    def describe_run(
        self,
        bucket: str,
        folder: str,
        run: str,
        listing: Iterable[tuple[str, int]],
        master: str | None = None,
    ) -> list[dict[str, Any]]:
        """A committed run's objects as the ledger's `outputs` (hls.outputs), for a job that
        finds its output already written."""
        return outputs.describe_run(bucket, folder, run, listing, master)

    def check(self, context: Context) -> ffmpeg.Probe:
        """As for h264: ffprobe accepts the input, within the worker's limits."""
        get = context.signed_get()
        return ffmpeg.check_limits(ffmpeg.probe(get.url, get.headers), context.limits)

    def apply(self, context: Context, tree: Tree, checked: Future[ffmpeg.Probe]) -> None:
        """Encode the ladder while its files stream to the tree; then the media playlists,
        the thumbnails' index and the master's body (committed by the caller)."""
        probe = checked.result()  # the ladder depends on the source's size: wait for it
        rungs = ladder.parse_ladder(context.argv)
        renditions = ladder.choose(rungs, probe.display_width, probe.display_height)
        encode = command.plan_encode(
            renditions, has_audio=probe.has_audio, duration=probe.declared()
        )
        codecs: dict[str, str] = {}
        lock = threading.Lock()

        def upload(relative: str, path: Path) -> None:
            body = path.read_bytes()
            name = Path(relative).name
            if name.startswith("init"):
                with lock:
                    codecs[str(Path(relative).parent)] = playlists.avc_codec(body)
            role = "poster" if relative == command.POSTER else None
            role = "sprite" if name.startswith("sprite_") else role
            tree.put(relative, body, CONTENT_TYPES[Path(relative).suffix], role)

        def on_progress(report: ffmpeg.Report) -> None:
            declared = probe.declared()
            if declared:
                context.progress.set_fraction(report.out_seconds / declared)

        get = context.signed_get()
        with tempfile.TemporaryDirectory(prefix="conveyor-hls-") as scratch:
            root = Path(scratch)
            done = stream_files(
                command.hls_args(encode, get.url, get.headers),
                root,
                upload,
                on_progress=on_progress,
            )
            if done.returncode != 0:
                raise ffmpeg.failed(done.returncode, done.stderr_tail)
            # ffmpeg's out_time is its furthest output's, and a sprite sheet's one frame spans
            # every thumbnail it can hold (100 intervals): what the renditions hold was encoded.
            done.report.out_seconds = encoded_seconds(root, renditions)
            problem = ffmpeg.incomplete(done.report, probe, done.stderr_tail)
            if problem is not None:
                raise problem
            variants = [
                _put_playlist(tree, root, r, done, codecs, probe, encode.has_audio)
                for r in renditions
            ]
        run = tree.run_id
        sheets = sum(1 for p in done.sizes if p.startswith("sprite_"))
        seconds = done.report.out_seconds
        vtt = thumbnails.webvtt(seconds, encode.sprites, sheets)
        tree.put(command.THUMBNAILS, vtt.encode(), "text/vtt", "thumbnails")
        poster = f"{run}/{command.POSTER}" if command.POSTER in done.sizes else None
        text = playlists.master(variants, poster=poster, thumbnails=f"{run}/{command.THUMBNAILS}")
        tree.set_master(text.encode())


def encoded_seconds(root: Path, renditions: Sequence[ladder.Rendition]) -> float:
    """How long the shortest rendition is, by its media playlist's segment durations."""
    return min(
        sum(seconds for _, seconds in playlists.parse_media(_playlist(root, r)).segments)
        for r in renditions
    )


def _playlist(root: Path, rendition: ladder.Rendition) -> str:
    return (root / rendition.name / command.PLAYLIST).read_text()


def _put_playlist(
    tree: Tree,
    root: Path,
    rendition: ladder.Rendition,
    done: Streamed,
    codecs: dict[str, str],
    probe: ffmpeg.Probe,
    has_audio: bool,
) -> playlists.Variant:
    """Upload a rendition's media playlist (its segments are all up) and describe it."""
    relative = f"{rendition.name}/{command.PLAYLIST}"
    text = _playlist(root, rendition)
    media = playlists.parse_media(text)
    durations = [seconds for _, seconds in media.segments]
    sizes = [done.sizes[f"{rendition.name}/{uri}"] for uri, _ in media.segments]
    variant = playlists.Variant(
        uri=f"{tree.run_id}/{relative}",
        bandwidth=playlists.peak_bandwidth(durations, sizes, media.target),
        average_bandwidth=playlists.average_bandwidth(durations, sizes),
        width=rendition.width,
        height=rendition.height,
        video_codec=codecs[rendition.name],
        has_audio=has_audio,
        frame_rate=round(1 / probe.frame_seconds, 3) if probe.frame_seconds else None,
    )
    tree.put(
        relative,
        text.encode(),
        MPEGURL,
        "playlist",
        height=rendition.height,
        width=rendition.width,
        bandwidth=variant.bandwidth,
        average_bandwidth=variant.average_bandwidth,
        segments=len(sizes),
        segment_bytes=sum(sizes),
    )
    return variant
