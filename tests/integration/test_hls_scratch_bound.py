"""The scratch directory's bound is real: uploads slower than ffmpeg make a backlog, and ffmpeg
is paused (SIGSTOP) until it drains, so the scratch never holds more than the bound plus the
segment that ended as it was reached."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path

import pytest

from batch_job.transforms.hls.stream import stream_files

SEGMENTS = 30


def lavfi_hls(seconds: int) -> list[str]:
    """An hls run like the transform's, from a generated source (no input URL needed)."""
    return [
        "ffmpeg", "-nostdin", "-loglevel", "error", "-progress", "pipe:2",
        "-f", "lavfi", "-i", f"testsrc2=size=640x360:rate=25:duration={seconds}",
        "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "1500k",
        "-force_key_frames", "expr:gte(t,n_forced*1)",
        "-f", "hls", "-hls_segment_type", "fmp4", "-hls_time", "1",
        "-hls_playlist_type", "vod", "-hls_flags", "temp_file",
        "-var_stream_map", "v:0,name:v",
        "-hls_segment_filename", "%v/seg_%05d.m4s", "%v/index.m3u8",
    ]  # fmt: skip


def scratch_bytes(root: Path) -> int:
    total = 0
    for folder, _, names in os.walk(root):
        for name in names:
            with contextlib.suppress(FileNotFoundError):
                total += os.path.getsize(os.path.join(folder, name))
    return total


def run(root: Path, limit: int) -> tuple[int, int, list[int]]:
    """Stream with an upload slow enough to fall behind; returns pauses, the peak the scratch
    held (measured at each upload, apart from the streamer's own looks) and the file sizes."""
    peak, sizes, lock = [0], [], threading.Lock()

    def slow_upload(relative: str, path: Path) -> None:
        with lock:
            peak[0] = max(peak[0], scratch_bytes(root))
            sizes.append(path.stat().st_size)
        time.sleep(0.15)  # a slow S3: the backlog builds up

    done = stream_files(lavfi_hls(SEGMENTS), root, slow_upload, limit=limit)
    assert done.returncode == 0, done.stderr_tail
    assert done.report.ended
    assert not any(p.suffix == ".m4s" for p in root.rglob("*"))  # all uploaded, then deleted
    return done.pauses, max(peak[0], done.peak_bytes), sizes


@pytest.mark.parametrize("limit", [400_000])
def test_scratch_stays_within_the_bound(tmp_path: Path, limit: int) -> None:
    pauses, peak, sizes = run(tmp_path, limit)
    assert len(sizes) >= SEGMENTS  # every segment and the init went up
    assert pauses >= 1
    assert peak <= limit + max(sizes)


def test_without_the_pause_the_backlog_would_pass_the_bound(tmp_path: Path) -> None:
    """The same run with a bound too high to reach: the backlog grows past 400 kB, so the
    test above proves the pause, not a fast machine."""
    pauses, peak, sizes = run(tmp_path, 10**12)
    assert pauses == 0
    assert peak > 400_000 + max(sizes)
