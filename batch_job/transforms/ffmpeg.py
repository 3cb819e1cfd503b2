"""ffmpeg and ffprobe, locked down for media from strangers.

Inputs are read by HTTP(S) from a presigned URL (so ffmpeg can seek to a moov atom at the end).
Only the demuxers in DEMUXERS may open the input, so playlists (HLS, DASH), concat scripts and
image sequences, which open further files or URLs named inside the media, are refused; only the
protocols needed to fetch the URL are allowed (plain http only when the URL itself is, as on the
local stack); ffmpeg and ffprobe get no AWS credentials (scrubbed_env); stdin is never read; only
video and audio reach the output.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from batch_job.errors import BadInput, Transient
from batch_job.limits import Limits
from batch_job.transforms.process import scrubbed_env

DEMUXERS = ("mov", "matroska", "webm", "avi", "mpegts", "mxf", "mpeg", "asf", "flv")
"""Container formats a video upload may be in (mov covers mp4, m4v, 3gp)."""
PROTOCOLS = ("https", "tcp", "tls")
"""Enough to fetch a presigned URL, nothing else (no file:, no concat:, no pipe:, no http:)."""
PLAIN_HTTP = "http"
"""Allowed only when the URL itself is plain http (the local stack): on AWS a redirect or a
reference to http://169.254.169.254 must find the protocol refused."""
PROBE_TIMEOUT = 120
RECONNECT = (
    "-reconnect",
    "1",
    "-reconnect_on_network_error",
    "1",
    "-reconnect_on_http_error",
    "5xx",
    "-reconnect_delay_max",
    "10",
)
"""ffmpeg's http reader gives up at the first dropped connection or 5xx (S3's 500 InternalError,
503 SlowDown), and a dropped read then looks like a cut file; with these it reconnects and reads
on from the same byte (a Range GET of the same signed, version-pinned URL), waiting 0, 1, 3 and
7 s between tries. Only then does the job fail, as transient."""
NETWORK_TROUBLE = (
    "Connection refused",
    "Connection reset",
    "Connection timed out",
    "timed out",
    "Server returned 5",
    "Input/output error",
    "Network is unreachable",
    "Server returned 403",
)
"""ffmpeg messages that mean the fetch failed, not the media: worth a retry. A 403 is a URL whose
signing credentials expired (a role's last at most a few hours) when ffmpeg seeks late in a long
run; the retry signs a new one."""
HOST_TROUBLE = ("No space left on device", "Cannot allocate memory")
"""The worker's machine, not the media: a full scratch disk (hls writes segments there before
they leave for S3), memory exhausted. Worth a retry, perhaps on another host."""
CHANGED = "Server returned 4XX Client Error, but not one of 40{0,1,3,4}"
"""How ffmpeg reports 412 Precondition Failed: the signed If-Match no longer matches, so the key
holds other bytes now. A retry finds the version gone (and archived, or lost) and says which."""
SIGNED_QUERY = re.compile(r"(https?://[^\s?'\"]+)\?[^\s'\":]*")
"""A URL's query string, where a presigned URL keeps its signature."""
ANY_URL = re.compile(r"https?://\S+")
ENDED_EARLY = (
    "partial file",
    "moov atom not found",
    "ended prematurely",
    "premature end of file",
)
"""What ffmpeg says (lower-cased) when the input file ends before its data does, yet exits 0 with
what it managed: mov's "stream 0, offset 0x…: partial file", mxf's "… - partial file?",
matroska's "File ended prematurely", the RIFF readers' "premature end of file". Any one is bad
input. (http's "Stream ends prematurely" is a broken read, not a cut file: NETWORK_TROUBLE.)"""
DECODER_ERRORS = (
    "error while decoding",
    "decoding error",
    "invalid data found when processing input",
    "damaged",
)
"""What decoders say about a glitched frame ("Error while decoding stream", "ac-tex damaged"):
camera and broadcast recordings (TS, MTS) that are complete carry them too, so they only explain
a shortfall, never fail a run on their own."""
PROGRESS = re.compile(r"[a-z][a-z0-9_]*=")
"""A `-progress` line: `out_time_us=3018594`, `bitrate= 751.6kbits/s`, `progress=end`."""
SHORTFALL_SECONDS = 0.5
SHORTFALL_RATIO = 0.02
"""How much shorter than declared the output may be, plus one frame: ffmpeg's output time stops at
the last frame's start, rounding and audio priming move the ends by a few tens of ms, and
containers round their declared durations. A cut file falls short by far more."""


@dataclass(frozen=True)
class Profile:
    height: int
    crf: int = 23
    preset: str = "veryfast"
    audio_bitrate: str = "128k"


@dataclass(frozen=True)
class Probe:
    format_name: str
    duration: float | None
    width: int
    """The coded frame's, before any rotation (what the limits and the decoder see)."""
    height: int
    has_audio: bool
    video_duration: float | None = None
    audio_duration: float | None = None
    frame_seconds: float | None = None
    """One frame of the video stream (from its average frame rate)."""
    video_codec: str | None = None
    pixel_format: str | None = None
    fps: float | None = None
    bit_rate: int | None = None
    """The container's, in bits/s."""
    rotation: int = 0
    """Degrees clockwise a player turns the frame: 0, 90, 180 or 270."""
    audio_codec: str | None = None
    audio_channels: int | None = None
    pixel_aspect: float = 1.0
    """The sample aspect ratio (a pixel's width over its height): 32/27 for 16:9 NTSC DV, 4/3
    for HDV's 1440x1080; 1 for square pixels or when the file does not say."""

    def declared(self) -> float | None:
        """How long the output should be: the mapped streams (first video and audio) if they
        say, else the container (a longer subtitle or data track must not count)."""
        known = [d for d in (self.video_duration, self.audio_duration) if d]
        return max(known) if known else self.duration

    @property
    def display_width(self) -> int:
        """The width a viewer sees: pixels stretched to their aspect (anamorphic DV, HDV), then
        turned (a phone's portrait clip is coded landscape, turned 90°)."""
        return self.height if self.rotation in (90, 270) else self._stretched_width

    @property
    def display_height(self) -> int:
        return self._stretched_width if self.rotation in (90, 270) else self.height

    @property
    def _stretched_width(self) -> int:
        return max(1, round(self.width * self.pixel_aspect))

    def facts(self) -> dict[str, Any]:
        """What the ledger records as `probe` (contract of issue 14): the source as ffprobe saw
        it, in names a person reads without knowing ffprobe's."""
        return {
            "container": self.format_name,
            "duration": self.duration,
            "video_codec": self.video_codec,
            "pixel_format": self.pixel_format,
            "width": self.width,
            "height": self.height,
            "rotation": self.rotation,
            "fps": self.fps,
            "bit_rate": self.bit_rate,
            "audio_codec": self.audio_codec if self.has_audio else None,
            "audio_channels": self.audio_channels if self.has_audio else None,
        }


class Report:
    """What ffmpeg tells on stderr while it runs: how far its output got, the first sign that the
    file ends early and the first decoder error. Constant memory however long the run."""

    def __init__(self) -> None:
        self.out_seconds = 0.0
        self.ended = False
        self.ended_early: str | None = None
        self.damage: str | None = None

    def read(self, line: str) -> bool:
        """Take one stderr line; True when it is `-progress` output (no use in an error message)."""
        if PROGRESS.match(line):
            key, _, value = line.partition("=")
            value = value.strip()
            if key == "out_time_us" and value.isdigit():
                self.out_seconds = max(self.out_seconds, int(value) / 1e6)
            elif key == "progress" and value == "end":
                self.ended = True
            return True
        said = ANY_URL.sub("<input>", line).lower()  # a key may itself say "damaged"
        if self.ended_early is None and any(sign in said for sign in ENDED_EARLY):
            self.ended_early = _clean(line)[-300:]
        if self.damage is None and any(sign in said for sign in DECODER_ERRORS):
            self.damage = _clean(line)[-300:]
        return False


def protocols(url: str) -> tuple[str, ...]:
    """The protocols ffmpeg may use to read `url`: https's, plus http only for an http URL."""
    return (PLAIN_HTTP, *PROTOCOLS) if url.lower().startswith("http://") else PROTOCOLS


def check_limits(found: Probe, limits: Limits) -> Probe:
    """Refuse a probed video beyond the limits (BadInput); its longest declared duration counts,
    since ffmpeg reads the container to its end whatever it maps."""
    known = [d for d in (found.duration, found.video_duration, found.audio_duration) if d]
    limits.check_video(found.width, found.height, max(known) if known else None)
    return found


def input_args(url: str, headers: Mapping[str, str] | None = None) -> list[str]:
    """Open `url` with the allow-lists; `headers` are sent with every request (signed If-Match).
    A read that breaks, or a GET answered 5xx, is resumed where it stopped (RECONNECT)."""
    sent = ["-headers", "".join(f"{k}: {v}\r\n" for k, v in headers.items())] if headers else []
    return [
        *sent,
        *RECONNECT,
        "-protocol_whitelist",
        ",".join(protocols(url)),
        "-format_whitelist",
        ",".join(DEMUXERS),
        "-i",
        url,
    ]


def reading(url: str, headers: Mapping[str, str] | None = None) -> list[str]:
    """ffmpeg opening `url` with the allow-lists, quiet but for errors and `-progress` on stderr
    (what Report reads): the start of every transform's command line."""
    return [
        "ffmpeg",
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-nostats",
        "-progress",
        "pipe:2",
        *input_args(url, headers),
    ]


def probe_args(url: str, headers: Mapping[str, str] | None = None) -> list[str]:
    return [
        "ffprobe",
        "-v",
        "error",
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
        *input_args(url, headers),
    ]


def ffmpeg_args(
    profile: Profile, src_url: str, headers: Mapping[str, str] | None = None
) -> list[str]:
    """Fragmented MP4 (H.264 + AAC) on stdout, never taller than the source or the profile."""
    return [
        *reading(src_url, headers),
        "-map",
        "0:v:0",
        "-map",
        "0:a:0?",
        "-sn",
        "-dn",
        "-map_metadata",
        "-1",
        "-map_chapters",
        "-1",
        "-vf",
        f"scale=-2:'min({profile.height},ih)',format=yuv420p",
        "-c:v",
        "libx264",
        "-preset",
        profile.preset,
        "-crf",
        str(profile.crf),
        "-c:a",
        "aac",
        "-b:a",
        profile.audio_bitrate,
        "-ac",
        "2",
        "-movflags",
        "+frag_keyframe+empty_moov+default_base_moof",
        "-f",
        "mp4",
        "pipe:1",
    ]


def incomplete(report: Report, probe: Probe | None, stderr: str) -> Exception | None:
    """After ffmpeg exited 0: why its output is not the whole input, or None when it is.

    ffmpeg treats a cut file (or a read that failed midway) as the end of the input and exits 0,
    so a short output would pass for a success; that is bad input, or transient if the network
    broke the read. A shortfall against the declared duration, or ffmpeg saying the file ends
    early, is enough; decoder errors alone are not (complete recordings have glitched frames).
    """
    if not report.ended:
        return RuntimeError("ffmpeg exited 0 without its final progress report")
    declared = probe.declared() if probe else None
    short = None
    if probe and declared:
        allowed = max(SHORTFALL_SECONDS, SHORTFALL_RATIO * declared) + (probe.frame_seconds or 0)
        if declared - report.out_seconds > allowed:
            short = f"decoded {report.out_seconds:.1f} s of the {declared:.1f} s the file declares"
    if short is None and report.ended_early is None:
        return None
    reason = ": ".join(part for part in (short, "the file is truncated or damaged") if part)
    said = report.ended_early or report.damage
    if said:
        reason += f" (ffmpeg: {said})"
    return classify(reason, stderr)


def probe(url: str, headers: Mapping[str, str] | None = None) -> Probe:
    """Validate the input before anything is written: a known container with a video stream."""
    try:
        done = subprocess.run(
            probe_args(url, headers),
            capture_output=True,
            timeout=PROBE_TIMEOUT,
            stdin=subprocess.DEVNULL,
            env=scrubbed_env(),
            check=False,
        )
    except FileNotFoundError as err:
        raise RuntimeError("ffprobe is not installed (Debian package: ffmpeg)") from err
    except subprocess.TimeoutExpired as err:
        raise Transient(f"ffprobe took longer than {PROBE_TIMEOUT}s") from err
    stderr = done.stderr.decode("utf-8", "replace").strip()
    if done.returncode != 0:
        raise classify(f"not a video ffmpeg accepts: {last_line(stderr)}", stderr)
    return parse_probe(json.loads(done.stdout or b"{}"))


def parse_probe(report: dict[str, Any]) -> Probe:
    streams = report.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    if video is None or not video.get("width"):
        raise BadInput("the file has no video stream")
    fmt = report.get("format", {})
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    return Probe(
        format_name=fmt.get("format_name", ""),
        duration=_seconds(fmt.get("duration")),
        width=int(video["width"]),
        height=int(video["height"]),
        has_audio=audio is not None,
        video_duration=_seconds(video.get("duration")),
        audio_duration=_seconds(audio.get("duration")) if audio else None,
        frame_seconds=_frame_seconds(video.get("avg_frame_rate") or video.get("r_frame_rate")),
        video_codec=_name(video.get("codec_name")),
        pixel_format=_name(video.get("pix_fmt")),
        fps=_rate(video.get("avg_frame_rate")) or _rate(video.get("r_frame_rate")),
        bit_rate=_count(fmt.get("bit_rate")),
        rotation=rotation(video),
        audio_codec=_name(audio.get("codec_name")) if audio else None,
        audio_channels=_count(audio.get("channels")) if audio else None,
        pixel_aspect=_aspect(video.get("sample_aspect_ratio")),
    )


def _aspect(ratio: Any) -> float:
    """ffprobe's `sample_aspect_ratio` ("32:27"); "0:1" (unknown), absent or absurd: square."""
    try:
        aspect = Fraction(str(ratio).replace(":", "/"))
    except (ValueError, ZeroDivisionError):
        return 1.0
    return float(aspect) if Fraction(1, 10) <= aspect <= 10 else 1.0


def rotation(video: Mapping[str, Any]) -> int:
    """Degrees clockwise a player turns the stream, 0/90/180/270.

    ffprobe reports the display matrix's angle counter-clockwise (a phone's portrait clip says
    -90); older files and ffprobes carry a `rotate` tag, already clockwise. Other angles round to
    the nearest quarter turn, as players do.
    """
    for side in video.get("side_data_list") or []:
        angle = _number(side.get("rotation"))
        if side.get("side_data_type") == "Display Matrix" and angle is not None:
            return _quarter(-angle)
    tagged = _number((video.get("tags") or {}).get("rotate"))
    return _quarter(tagged) if tagged is not None else 0


def _quarter(degrees: float) -> int:
    return round(degrees / 90.0) % 4 * 90


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _count(value: Any) -> int | None:
    """ffprobe's bit rates and channel counts: "4400000", 2, or "N/A"."""
    number = _number(value)
    return int(number) if number is not None and number > 0 else None


def _name(value: Any) -> str | None:
    """A codec or pixel format name; ffprobe says "unknown" when it could not tell."""
    return value if isinstance(value, str) and value and value != "unknown" else None


def _rate(rate: Any) -> float | None:
    """ "30000/1001" -> 29.97; "0/0" (unknown) -> None."""
    frame = _frame_seconds(rate)
    return round(1 / frame, 3) if frame else None


def _seconds(value: Any) -> float | None:
    """ffprobe's durations are strings, "N/A" when unknown."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if math.isfinite(seconds) and seconds > 0 else None


def _frame_seconds(rate: Any) -> float | None:
    """ "25/1" -> 0.04; "0/0" (unknown) -> None."""
    try:
        frames = Fraction(str(rate))
    except (ValueError, ZeroDivisionError):
        return None
    return float(1 / frames) if frames > 0 else None


def failed(returncode: int, stderr: str) -> Exception:
    """Why ffmpeg exited non-zero: killed by a signal (the OOM killer, a stop) is no fault of
    the input, so transient; otherwise as `classify` says."""
    if returncode < 0:
        return Transient(f"ffmpeg was killed by signal {-returncode}: {last_line(stderr)}")
    return classify(f"ffmpeg failed: {last_line(stderr)}", stderr)


def classify(message: str, stderr: str) -> Exception:
    """Network trouble, a full scratch disk and a changed original are transient; anything else
    is bad input."""
    if CHANGED in stderr:
        return Transient(f"the original changed while it was read: {message}")
    if any(sign in stderr for sign in (*NETWORK_TROUBLE, *HOST_TROUBLE)):
        return Transient(message)
    return BadInput(message)


def last_line(text: str, limit: int = 400, count: int = 3) -> str:
    """The last few lines of ffmpeg's stderr, joined: the cause is often above the summary.

    URLs lose their query string: a presigned URL in a log or the ledger would let whoever reads
    it download the original until it expires.
    """
    lines: Sequence[str] = [_clean(line) for line in text.splitlines() if line.strip()]
    return (" | ".join(lines[-count:]) if lines else "no error message")[-limit:]


def _clean(line: str) -> str:
    return SIGNED_QUERY.sub(r"\1", line).strip()
