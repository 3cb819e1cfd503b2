"""Sample media made with ffmpeg: for the demo, the tests and the benchmarks."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path


def make_video(
    path: Path, *, width: int, height: int, seconds: float, faststart: bool, audio: bool = True
) -> Path:
    """H.264/AAC MP4; `faststart` puts the moov atom first, otherwise it ends the file."""
    argv = [
        "ffmpeg",
        "-nostdin",
        "-y",
        "-loglevel",
        "error",
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={width}x{height}:rate=25:duration={seconds}",
    ]
    if audio:
        argv += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-c:a", "aac"]
    argv += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-shortest"]
    if faststart:
        argv += ["-movflags", "+faststart"]
    subprocess.run([*argv, str(path)], check=True)
    return path


def probe(path: Path) -> dict:
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", path],
        capture_output=True,
        check=True,
    )
    return json.loads(done.stdout)


def moov_at_end(path: Path) -> bool:
    data = path.read_bytes()
    return data.find(b"moov") > data.find(b"mdat")
