"""ffmpeg writes into a scratch directory; each file it finishes goes to S3 at once and leaves the
disk, so the scratch holds only what waits to be uploaded, never the whole output.

The bound is real: ffmpeg is stopped (SIGSTOP) as soon as the files waiting, plus the most it
has written between two looks (LOOK_SECONDS) so far, would pass MAX_SCRATCH_BYTES, and resumed
(SIGCONT) once the uploads bring them under half of it. ffmpeg keeps a segment in memory and
writes it in one go, so the scratch exceeds the bound only by a burst larger than any before it:
in practice by at most a segment (tests/integration/test_hls_scratch_bound.py).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from batch_job.transforms import ffmpeg
from batch_job.transforms.process import STDERR_LINES, scrubbed_env

logger = logging.getLogger(__name__)

MAX_SCRATCH_BYTES = 256 * 1024 * 1024
"""Bytes of finished files the scratch may hold before ffmpeg is paused (plus one segment per
rendition, see above): about 50 s of a 1080p/720p/480p/360p ladder."""
LOOK_SECONDS = 0.05
UPLOADERS = 4
TEMPORARY = ".tmp"
"""ffmpeg writes segments, the poster and sprites under this suffix, then renames them."""


class Pace(Enum):
    PAUSE = "pause"
    RESUME = "resume"
    KEEP = "keep"


def pace(waiting_bytes: int, paused: bool, limit: int, burst: int = 0) -> Pace:
    """Pause ffmpeg once the bytes waiting in the scratch, plus the `burst` it may write before
    the next look, pass `limit`; resume at half of it, so it does not stop and start at every
    upload."""
    if not paused and waiting_bytes + burst > limit:
        return Pace.PAUSE
    if paused and waiting_bytes <= limit // 2:
        return Pace.RESUME
    return Pace.KEEP


def finished(paths: Iterable[str], exited: bool) -> list[str]:
    """Which files (relative paths) are complete: not being written (no .tmp name), not a media
    playlist (ffmpeg rewrites it; it is uploaded last), and an init segment only once a segment
    of its rendition exists (ffmpeg closes the init just before) or ffmpeg has exited."""
    listed = sorted(paths)
    folders_with_segments = {
        os.path.dirname(p) for p in listed if p.endswith(".m4s") or p.endswith(".m4s" + TEMPORARY)
    }
    ready = []
    for path in listed:
        name = os.path.basename(path)
        if path.endswith(TEMPORARY) or path.endswith(".m3u8"):
            continue
        if (
            name.startswith("init")
            and not exited
            and os.path.dirname(path) not in (folders_with_segments)
        ):
            continue
        ready.append(path)
    return ready


Upload = Callable[[str, Path], None]
"""Sends one finished file (its path relative to the scratch, and on disk) to S3."""


@dataclass
class Streamed:
    returncode: int
    report: ffmpeg.Report
    stderr_tail: str
    sizes: dict[str, int] = field(default_factory=dict)
    """Every uploaded file's bytes, by relative path."""
    pauses: int = 0
    peak_bytes: int = 0
    """The most the scratch held at a look."""


def stream_files(
    argv: list[str],
    root: Path,
    upload: Upload,
    *,
    on_progress: Callable[[ffmpeg.Report], None] | None = None,
    limit: int = MAX_SCRATCH_BYTES,
) -> Streamed:
    """Run ffmpeg in `root`, upload each file it finishes as it finishes (then delete it), and
    wait for the last upload. An upload that fails kills ffmpeg and raises."""
    process = subprocess.Popen(
        argv,
        cwd=root,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=scrubbed_env(),
    )
    report = ffmpeg.Report()
    tail: deque[str] = deque(maxlen=STDERR_LINES)
    drain = threading.Thread(target=_drain, args=(process, report, tail, on_progress), daemon=True)
    drain.start()
    done = Streamed(returncode=0, report=report, stderr_tail="")
    paused = False
    burst = previous = 0
    sent: dict[str, Future[None]] = {}
    pool = ThreadPoolExecutor(UPLOADERS, thread_name_prefix="segment")
    try:
        while True:
            exited = process.poll() is not None
            on_disk = _listing(root)
            for relative in finished(on_disk, exited):
                if relative not in sent:
                    done.sizes[relative] = on_disk[relative]
                    sent[relative] = pool.submit(_send, upload, relative, root / relative)
            _raise_failed(sent)
            waiting = sum(on_disk.values())
            done.peak_bytes = max(done.peak_bytes, waiting)
            burst, previous = max(burst, waiting - previous), waiting
            step = pace(waiting, paused, limit, burst)
            if step is Pace.PAUSE and not exited:
                process.send_signal(signal.SIGSTOP)
                paused, done.pauses = True, done.pauses + 1
                logger.info("scratch holds %d bytes: ffmpeg paused for the uploads", waiting)
            elif step is Pace.RESUME or (paused and exited):
                process.send_signal(signal.SIGCONT)
                paused = False
            if exited and _all_sent(on_disk, sent):
                break
            time.sleep(LOOK_SECONDS)
        for future in sent.values():
            future.result()
    except BaseException:
        process.kill()  # a stopped process is killed all the same
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        process.wait()
        drain.join()
    done.returncode = process.returncode
    done.stderr_tail = "\n".join(tail)
    return done


def _listing(root: Path) -> dict[str, int]:
    """Every file under `root` with its size (a file renamed meanwhile is skipped)."""
    found = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            try:
                found[os.path.relpath(path, root)] = os.path.getsize(path)
            except FileNotFoundError:
                continue
    return found


def _send(upload: Upload, relative: str, path: Path) -> None:
    upload(relative, path)
    path.unlink()


def _all_sent(on_disk: dict[str, int], sent: dict[str, Future[None]]) -> bool:
    """ffmpeg has exited: every finished file was sent and every upload is over."""
    pending = set(finished(on_disk, exited=True)) - sent.keys()
    return not pending and all(f.done() for f in sent.values())


def _raise_failed(sent: dict[str, Future[None]]) -> None:
    for future in sent.values():
        if future.done() and future.exception() is not None:
            future.result()


def _drain(
    process: subprocess.Popen[bytes],
    report: ffmpeg.Report,
    tail: deque[str],
    on_progress: Callable[[ffmpeg.Report], None] | None,
) -> None:
    assert process.stderr is not None
    for raw in process.stderr:
        line = raw.decode("utf-8", "replace").rstrip()
        if not line:
            continue
        if report.read(line):
            if on_progress is not None:
                on_progress(report)
        else:
            tail.append(line)
    process.stderr.close()
