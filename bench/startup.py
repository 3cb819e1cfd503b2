"""How long does the worker take to start: from process start to its first request for the input?

    .venv/bin/python -m bench.startup [--repeat 20] [--before /path/to/an/older/checkout]

Every job pays this before a byte is read (ffmpeg starts only after it): the interpreter, the
imports and the clients. Each run starts a fresh process pointed at a local HTTP endpoint that
notes when the first request arrives (the worker's HEAD of the pinned version) and answers every
request 404, so no storage work is timed; beside that wall time, the CPU time each process used
until it exited, which other load on the machine does not inflate. The job is a copy (a video job
imports its transform's module after that HEAD, before ffprobe reads a byte). Rows, alternated
round by round, medians:
- python + one request: the interpreter and a raw socket, the floor of any process;
- boto3 client + HEAD: `import boto3`, one S3 client, one HEAD, with the collector paused and no
  teardown at exit as `python -m batch_job` does: the floor of any boto3 worker;
- the worker, `python -m batch_job ...`, as the image runs it (the tree on PYTHONPATH), for this
  tree and for `--before` (another checkout of the project: the same measurement on older code).
`--imports N` then counts the modules each worker imports beyond the boto3 row's, with their self
time (`python -X importtime`, steadier than wall time on a busy machine), and lists this tree's N
slowest.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PY = sys.executable
HERE = Path(__file__).resolve().parents[1]
"""This checkout: the tree whose worker is measured unless told otherwise."""
TIMEOUT = 60.0

RAW_REQUEST = """
import os, socket
from urllib.parse import urlsplit
with socket.create_connection(("127.0.0.1", urlsplit(os.environ["AWS_ENDPOINT_URL"]).port)) as s:
    s.sendall(b"HEAD /b/k HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n")
    s.recv(1024)
"""

BOTO3_HEAD = """
import gc, os
gc.disable()  # as batch_job.__main__ does: no collection while botocore builds its models
import boto3
try:
    boto3.client("s3").head_object(Bucket="staging", Key="k", VersionId="v1")
except Exception:
    pass
os._exit(0)  # and no teardown
"""

WORKER_FLAGS = ["--bucket", "staging", "--key", "k", "--version-id", "v1", "--etag", "e"]


class FirstRequest:
    """A local endpoint that notes when the first request of each run arrives, and refuses all."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.at = 0.0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                if not owner.arrived.is_set():
                    owner.at = time.perf_counter()
                    owner.arrived.set()
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                body = b"" if self.command == "HEAD" else b"<Error><Code>NoSuchKey</Code></Error>"
                self.send_response(404)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_HEAD = do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def run(self, argv: list[str], env: dict[str, str], cwd: str) -> tuple[float, float]:
        """Seconds from process start to its first request, and the CPU seconds it used in all
        (user + system, to its exit: what other processes on the machine do not inflate)."""
        self.arrived.clear()
        with tempfile.TemporaryFile() as stderr:
            started = time.perf_counter()
            process = subprocess.Popen(
                argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=stderr
            )
            if not self.arrived.wait(TIMEOUT):
                process.kill()
                process.wait()
                stderr.seek(0)
                raise RuntimeError(f"{argv} made no request: {stderr.read()[-2000:]!r}")
            _, _, usage = os.wait4(process.pid, 0)
            process.returncode = 0  # reaped by wait4
        return self.at - started, usage.ru_utime + usage.ru_stime

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass(frozen=True)
class Variant:
    name: str
    argv: list[str]
    tree: Path | None = None
    """Put on PYTHONPATH, as the image does (/opt/conveyor): whose batch_job and conveyor run."""


def environment(port: int, tree: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CONVEYOR_", "PYTHON"))}
    env.update(
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        CONVEYOR_OUTPUT_BUCKET="output",
        CONVEYOR_ARCHIVE_BUCKET="archive",
        CONVEYOR_LEDGER_TABLE="ledger",
    )
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    return env


def variants(before: Path | None) -> list[Variant]:
    rows = [
        Variant("python + one request", [PY, "-c", RAW_REQUEST]),
        Variant("boto3 client + HEAD", [PY, "-c", BOTO3_HEAD]),
        Variant("worker (this tree)", [PY, "-m", "batch_job", *WORKER_FLAGS], HERE),
    ]
    if before is not None:
        rows.append(Variant(f"worker ({before})", [PY, "-m", "batch_job", *WORKER_FLAGS], before))
    return rows


@dataclass
class Measured:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def measure(rows: list[Variant], repeat: int) -> dict[str, Measured]:
    """Every row `repeat` times, rotating the order each round (the machine drifts)."""
    measured = {row.name: Measured() for row in rows}
    endpoint = FirstRequest()
    try:
        with tempfile.TemporaryDirectory(prefix="conveyor-startup-") as cwd:
            for round_ in range(repeat):
                shift = round_ % len(rows)
                for row in rows[shift:] + rows[:shift]:
                    wall, cpu = endpoint.run(row.argv, environment(endpoint.port, row.tree), cwd)
                    measured[row.name].wall.append(wall)
                    measured[row.name].cpu.append(cpu)
    finally:
        endpoint.stop()
    return measured


def table(measured: dict[str, Measured], repeat: int) -> str:
    median = statistics.median
    boto3_row = list(measured.values())[1]
    lines = [
        f"start-up to the first request (wall) and CPU used to exit, ms, median of {repeat}",
        f"{'run':<44} {'wall':>7} {'min':>7} {'÷ boto3':>8} {'CPU':>7} {'÷ boto3':>8}",
    ]
    for name, m in measured.items():
        lines.append(
            f"{name:<44} {median(m.wall) * 1e3:7.1f} {min(m.wall) * 1e3:7.1f}"
            f" {median(m.wall) / median(boto3_row.wall):8.2f} {median(m.cpu) * 1e3:7.1f}"
            f" {median(m.cpu) / median(boto3_row.cpu):8.2f}"
        )
    return "\n".join(lines)


def import_times(argv: list[str], tree: Path | None) -> dict[str, int]:
    """Self time in µs of every module `argv` imports, from `python -X importtime`."""
    endpoint = FirstRequest()
    try:
        with tempfile.TemporaryDirectory(prefix="conveyor-startup-") as cwd:
            done = subprocess.run(
                [argv[0], "-X", "importtime", *argv[1:]],
                env=environment(endpoint.port, tree),
                cwd=cwd,
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
                check=False,
            )
    finally:
        endpoint.stop()
    selves: dict[str, int] = {}
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            self_us, _, name = line.removeprefix("import time:").split("|")
            selves[name.strip()] = int(self_us)
    return selves


def beyond_boto3(rows: list[Variant], count: int, runs: int = 5) -> str:
    """What each worker imports that a bare boto3 client does not: modules and their self time
    (median of `runs`), then the `count` slowest of this tree's."""
    floor = import_times(rows[1].argv, rows[1].tree)
    lines = ["\nmodules the worker imports beyond the boto3 row's (self time, median of runs)"]
    slowest: dict[str, list[int]] = {}
    for row in rows[2:]:
        measured = [import_times(row.argv, row.tree) for _ in range(runs)]
        extras = [{n: us for n, us in m.items() if n not in floor} for m in measured]
        total = statistics.median(sum(extra.values()) for extra in extras) / 1e3
        lines.append(f"{row.name:<44} {len(extras[0]):4d} modules {total:8.1f} ms")
        if not slowest:
            for extra in extras:
                for name, us in extra.items():
                    slowest.setdefault(name, []).append(us)
    ranked = sorted(slowest.items(), key=lambda item: -statistics.median(item[1]))[:count]
    lines.append(f"\nthe {len(ranked)} slowest of {rows[2].name}:")
    lines += [f"{statistics.median(us) / 1e3:8.2f} ms  {name}" for name, us in ranked]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--before", type=Path, help="another checkout, measured beside this one")
    parser.add_argument("--imports", type=int, default=0, help="list the N slowest extra imports")
    args = parser.parse_args()
    rows = variants(args.before)
    print(table(measure(rows, args.repeat), args.repeat))
    if args.imports:
        print(beyond_boto3(rows, args.imports))


if __name__ == "__main__":
    main()
