"""How much does streaming an `hls` ladder to S3 cost against the same ffmpeg on local disk, and
does the worker's memory (and its scratch space) stay flat however long the video?

    .venv/bin/python -m bench.hls [--seconds 60,600] [--repeat 1] [--source-dir DIR]

For each clip length (1080p, H.264 + AAC, moov at the end, made with ffmpeg and kept in
`--source-dir` for the next run), measured in this run against a moto server on 127.0.0.1:
- local: the exact ffmpeg command the worker runs (batch_job.transforms.hls.command.hls_args, the
  same ladder, poster and sprites) reading the file from local disk and writing to a local folder;
- worker: `python -m batch_job --transform hls` reading the same bytes from the staging bucket over
  HTTP and streaming every segment to the output bucket, the master last, the original archived.
Every 0.2 s the process tree is sampled: peak RSS of the worker's Python process and of ffmpeg, and
the bytes in the worker's scratch directory. The table prints wall time, those peaks and the ratio
of the worker to local; a last line compares the longest clip's peaks with the shortest's (flat
memory is a ratio near 1.00).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench.harness import LocalStack, MiB, local_input, worker_argv

PY = sys.executable
SAMPLE_SECONDS = 0.2


@dataclass
class Sampled:
    wall: float = 0.0
    python_rss: int = 0
    """Peak RSS (bytes) of the Python processes in the tree: the worker itself."""
    ffmpeg_rss: int = 0
    scratch: int = 0
    """Peak bytes in the scratch directory (files waiting for their upload)."""


def run_sampled(argv: list[str], env: dict[str, str], cwd: Path, scratch: Path | None) -> Sampled:
    """Run `argv` to its end, sampling its process tree's RSS and `scratch`'s size."""
    found = Sampled()
    started = time.perf_counter()
    process = subprocess.Popen(
        argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    stderr: list[bytes] = []
    reader = threading.Thread(target=lambda: stderr.append(process.stderr.read()), daemon=True)
    reader.start()
    while process.poll() is None:
        for _pid, name, rss in _tree(process.pid):
            if "ffmpeg" in name:
                found.ffmpeg_rss = max(found.ffmpeg_rss, rss)
            elif "python" in name:
                found.python_rss = max(found.python_rss, rss)
        if scratch is not None:
            found.scratch = max(found.scratch, _bytes_under(scratch))
        time.sleep(SAMPLE_SECONDS)
    found.wall = time.perf_counter() - started
    reader.join()
    if process.returncode != 0:
        tail = b"".join(stderr).decode(errors="replace")[-3000:]
        raise RuntimeError(f"{argv[:4]}... exited {process.returncode}: {tail}")
    return found


def _tree(root: int) -> list[tuple[int, str, int]]:
    """(pid, command name, RSS bytes) of `root` and its descendants (Linux /proc)."""
    found, todo = [], [root]
    page = os.sysconf("SC_PAGE_SIZE")
    while todo:
        pid = todo.pop()
        try:
            name = Path(f"/proc/{pid}/comm").read_text().strip()
            rss = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
            for task in Path(f"/proc/{pid}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
        found.append((pid, name, rss))
    return found


def _bytes_under(folder: Path) -> int:
    total = 0
    for top, _, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(FileNotFoundError):  # uploaded and removed meanwhile
                total += os.stat(os.path.join(top, name)).st_size
    return total


def local_command(source: Path) -> list[str]:
    """The worker's own ffmpeg command for this source, reading a local file."""
    from batch_job.transforms import ffmpeg
    from batch_job.transforms.hls import command, ladder
    from conveyor_local.media import probe

    found = ffmpeg.parse_probe(probe(source))
    renditions = ladder.choose(ladder.DEFAULT_LADDER, found.display_width, found.display_height)
    encode = command.plan_encode(renditions, has_audio=found.has_audio, duration=found.declared())
    return local_input(command.hls_args(encode, str(source)))


def source_clip(folder: Path, seconds: int) -> Path:
    from conveyor_local.media import make_video

    path = folder / f"source-{seconds}.mp4"
    if not path.exists():
        print(f"making {path} ({seconds} s of 1080p)...", file=sys.stderr)
        make_video(
            path.with_suffix(".part.mp4"), width=1920, height=1080, seconds=seconds, faststart=False
        )
        path.with_suffix(".part.mp4").rename(path)
    return path


def measure(stack: LocalStack, source: Path, repeat: int) -> dict[str, list[Sampled]]:
    runs: dict[str, list[Sampled]] = {"local": [], "worker": []}
    local = local_command(source)
    for round_ in range(repeat):
        order = ["local", "worker"] if round_ % 2 == 0 else ["worker", "local"]
        for name in order:
            with tempfile.TemporaryDirectory(prefix="bench-hls-") as work:
                folder = Path(work)
                if name == "local":
                    runs[name].append(run_sampled(local, stack.env, folder, None))
                else:
                    stack.empty()
                    stack.put(str(source), "video.mp4")
                    env = {**stack.env, "TMPDIR": work, "CONVEYOR_PROGRESS_SECONDS": "60"}
                    argv = worker_argv(stack, "video.mp4", "hls")
                    runs[name].append(run_sampled(argv, env, folder, folder))
                    _check_output(stack)
            print(f"  {source.name} {name}: {runs[name][-1].wall:.1f} s", file=sys.stderr)
    return runs


def _check_output(stack: LocalStack) -> None:
    """The worker's run counts only if it wrote the master playlist."""
    output = stack.bucket("output")
    stack.s3.head_object(Bucket=output, Key="video.mp4.hls/master.m3u8")


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--seconds", default="60,600", help="comma list of clip lengths (1080p)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--source-dir", default=os.path.join(tempfile.gettempdir(), "conveyor-bench-media")
    )
    options = parser.parse_args()
    if not shutil.which("ffmpeg"):
        sys.exit("ffmpeg is not installed (Debian package: ffmpeg)")
    folder = Path(options.source_dir)
    folder.mkdir(parents=True, exist_ok=True)
    lengths = sorted(int(s) for s in options.seconds.split(","))
    stack = LocalStack(name="bench-hls")
    results: dict[int, dict[str, list[Sampled]]] = {}
    try:
        for seconds in lengths:
            results[seconds] = measure(stack, source_clip(folder, seconds), options.repeat)
    finally:
        stack.stop()
    print(
        f"\nhls ladder (1080/720/480/360 + poster + sprites) from 1080p, median of {options.repeat}"
    )
    print("| clip | local s | worker s | ÷ local | worker RSS MiB | ffmpeg RSS MiB | scratch MiB |")
    print("|---|---|---|---|---|---|---|")
    for seconds, runs in results.items():
        local = _median([r.wall for r in runs["local"]])
        worker = _median([r.wall for r in runs["worker"]])
        python_rss = max(r.python_rss for r in runs["worker"]) / MiB
        ffmpeg_rss = max(r.ffmpeg_rss for r in runs["worker"]) / MiB
        scratch = max(r.scratch for r in runs["worker"]) / MiB
        print(
            f"| {seconds} s | {local:.1f} | {worker:.1f} | {worker / local:.3f} | "
            f"{python_rss:.0f} | {ffmpeg_rss:.0f} | {scratch:.1f} |"
        )
    if len(results) > 1:
        short, long_ = results[lengths[0]]["worker"], results[lengths[-1]]["worker"]
        for label, field in (("worker", "python_rss"), ("ffmpeg", "ffmpeg_rss")):
            ratio = max(getattr(r, field) for r in long_) / max(getattr(r, field) for r in short)
            print(f"{label} peak RSS at {lengths[-1]} s / at {lengths[0]} s: {ratio:.2f}")


if __name__ == "__main__":
    main()
