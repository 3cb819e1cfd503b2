"""Shared benchmark plumbing: a moto server in its own process, timed child processes, tables."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conveyor.aws import client
from conveyor_local.provision import provision

MiB = 1024 * 1024


@dataclass
class Measured:
    seconds: list[float] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)
    server_cpu: list[float] = field(default_factory=list)
    """CPU seconds the moto server spent on the run: the work the run asked of the server."""

    def add(self, seconds: float, rss_kib: int, server_cpu: float) -> None:
        self.seconds.append(seconds)
        self.rss_kib.append(rss_kib)
        self.server_cpu.append(server_cpu)

    @property
    def wall(self) -> float:
        return statistics.median(self.seconds)

    @property
    def rss(self) -> int:
        return max(self.rss_kib)


LAUNCH = """
import os, sys, time
null = os.open(os.devnull, os.O_WRONLY)
started = time.perf_counter()
pid = os.posix_spawnp(sys.argv[1], sys.argv[1:], os.environ,
                      file_actions=[(os.POSIX_SPAWN_DUP2, null, 1)])
_, status, usage = os.wait4(pid, 0)
print(time.perf_counter() - started, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""
"""Starts the command from a small process and reports its wall time, peak RSS and exit code.

Linux counts in a process's peak RSS the peak of the process it was forked from (exec keeps the
larger), so a command started straight from this one (boto3 loaded, files generated) would show
at least this process's own peak, whatever it used: `true` showed 340 MiB after a 300 MiB buffer
here. Started from a bare interpreter (python -I -S, about 10 MiB), the floor is that."""


def timed(argv: Sequence[str], env: dict[str, str], *, shell: bool = False) -> tuple[float, int]:
    """Wall time and peak RSS (KiB, the child and the descendants it waited for) of one command.

    Its stdout goes to /dev/null; its stderr is kept for the error if it fails."""
    command = ["/bin/sh", "-c", argv[0]] if shell else list(argv)
    process = subprocess.run(
        [sys.executable, "-I", "-S", "-c", LAUNCH, *command],
        env=env,
        capture_output=True,
        text=True,
        errors="replace",
        check=False,
    )
    try:
        elapsed, rss, code = process.stdout.split()
    except ValueError:
        raise RuntimeError(f"{argv} did not start: {process.stderr.strip()[-2000:]}") from None
    if int(code) != 0:
        raise RuntimeError(f"{argv} exited with {code}: {process.stderr.strip()[-2000:]}")
    return float(elapsed), int(rss)


def local_input(argv: list[str]) -> list[str]:
    """The worker's ffmpeg argv, made to read a local file: http's reconnect options (a file
    input refuses them) dropped, the file protocol allowed instead of the URL's."""
    from batch_job.transforms.ffmpeg import RECONNECT

    argv = list(argv)
    start = argv.index(RECONNECT[0])
    del argv[start : start + len(RECONNECT)]
    argv[argv.index("-protocol_whitelist") + 1] = "file"
    return argv


def worker_argv(stack: LocalStack, key: str, transform: str) -> list[str]:
    """`python -m batch_job` for the version of `key` in staging, as Batch would run it."""
    head = stack.s3.head_object(Bucket=stack.bucket("staging"), Key=key)
    return [
        sys.executable,
        "-m",
        "batch_job",
        "--bucket",
        stack.bucket("staging"),
        "--key",
        key,
        "--version-id",
        head["VersionId"],
        "--etag",
        head["ETag"].strip('"'),
        "--transform",
        transform,
    ]


class LocalStack:
    """A moto server on 127.0.0.1 in a child process, with Conveyor's resources provisioned."""

    def __init__(self, name: str = "bench", server: Sequence[str] | None = None) -> None:
        """`server`: the command that starts moto, given `-H HOST -p PORT` (default
        `moto_server`)."""
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{port}"
        moto = shutil.which("moto_server", path=os.path.dirname(sys.executable))
        self.server = subprocess.Popen(
            [*(server or [moto or "moto_server"]), "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.env = {
            **os.environ,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        os.environ.update({k: v for k, v in self.env.items() if k.startswith("AWS_")})
        self._wait_ready()
        self.s3 = client("s3")
        self.settings = provision(
            s3=self.s3, sqs=client("sqs"), dynamodb=client("dynamodb"), name=name
        )
        self.env.update(self.settings)

    def bucket(self, role: str) -> str:
        return self.settings[f"CONVEYOR_{role.upper()}_BUCKET"]

    def empty(self) -> None:
        """Delete every version everywhere, so the server's memory does not grow run after run."""
        for role in ("staging", "archive", "output"):
            bucket = self.bucket(role)
            while True:  # the first page again each time: no marker into what is deleted
                page = self.s3.list_object_versions(Bucket=bucket)
                found = [
                    {"Key": v["Key"], "VersionId": v["VersionId"]}
                    for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
                ]
                if not found:
                    break
                for start in range(0, len(found), 1000):  # DeleteObjects takes 1,000 at most
                    answer = self.s3.delete_objects(
                        Bucket=bucket,
                        Delete={"Objects": found[start : start + 1000], "Quiet": True},
                    )
                    if answer.get("Errors"):
                        raise RuntimeError(f"could not empty {bucket}: {answer['Errors'][:3]}")
            for upload in self.s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
                self.s3.abort_multipart_upload(
                    Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                )

    def put(self, path: str, key: str) -> dict[str, Any]:
        from boto3.s3.transfer import TransferConfig

        self.s3.upload_file(path, self.bucket("staging"), key, Config=TransferConfig())
        return self.s3.head_object(Bucket=self.bucket("staging"), Key=key)

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (Linux /proc)."""
        fields = Path(f"/proc/{self.server.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def measure(self, run: Callable[[], tuple[float, int]], into: Measured) -> None:
        before = self.cpu_seconds()
        seconds, rss = run()
        into.add(seconds, rss, self.cpu_seconds() - before)

    def alternate(
        self,
        variants: dict[str, Callable[[], tuple[float, int]]],
        repeat: int,
        path: str,
        key: str,
    ) -> list[tuple[str, Measured]]:
        """Run every variant `repeat` times, rotating the order each round (the machine drifts),
        each on a fresh upload of `path` to `key` in staging; rows in the variants' order."""

        def fresh_upload(name: str) -> None:
            self.empty()
            self.put(path, key)

        return self.rotate(variants, repeat, fresh_upload)

    def rotate(
        self,
        variants: dict[str, Callable[[], tuple[float, int]]],
        repeat: int,
        prepare: Callable[[str], None],
        check: Callable[[str], None] | None = None,
    ) -> list[tuple[str, Measured]]:
        """Run every variant `repeat` times, rotating the order each round, with `prepare(name)`
        before each run and `check(name)` after it, both untimed; rows in the variants' order."""
        results = {name: Measured() for name in variants}
        names = list(variants)
        for round_ in range(repeat):
            for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
                prepare(name)
                self.measure(variants[name], results[name])
                print(f"  {name}: {results[name].seconds[-1]:.2f}s", file=sys.stderr)
                if check:
                    check(name)
        return [(name, results[name]) for name in names]

    def stop(self) -> None:
        self.server.send_signal(signal.SIGTERM)
        self.server.wait(timeout=30)

    def _wait_ready(self) -> None:
        for _ in range(100):
            try:
                urllib.request.urlopen(self.endpoint + "/moto-api/", timeout=1).read()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("moto server did not start")


def random_file(path: str, size: int) -> str:
    with open(path, "wb") as out:
        left = size
        while left:
            n = min(left, 16 * MiB)
            out.write(os.urandom(n))
            left -= n
    return path


def table(title: str, rows: list[tuple[str, Measured]], size: int | None, floor: str) -> str:
    """One line per row: median wall, MB/s of `size` bytes (left blank without a size), peak RSS,
    median server CPU, and the ratio of its wall to the `floor` row's."""
    base = dict(rows)[floor].wall
    lines = [
        title,
        f"{'run':<44} {'wall s':>8} {'MB/s':>8} {'peak RSS MiB':>13} {'server CPU s':>13}"
        f" {'÷ floor':>8}",
    ]
    for name, m in rows:
        cpu = statistics.median(m.server_cpu) if m.server_cpu else float("nan")
        rate = f"{size / m.wall / 1e6:8.1f}" if size else f"{'':>8}"
        lines.append(
            f"{name:<44} {m.wall:8.2f} {rate} {m.rss / 1024:13.1f} {cpu:13.2f} {m.wall / base:8.2f}"
        )
    return "\n".join(lines)
