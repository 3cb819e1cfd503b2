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


def timed(argv: Sequence[str], env: dict[str, str], *, shell: bool = False) -> tuple[float, int]:
    """Wall time and peak RSS (KiB, the child and the descendants it waited for) of one command."""
    started = time.perf_counter()
    process = subprocess.Popen(
        argv if not shell else argv[0],
        env=env,
        shell=shell,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{argv} exited with {process.returncode}")
    return elapsed, usage.ru_maxrss


class LocalStack:
    """A moto server on 127.0.0.1 in a child process, with Conveyor's resources provisioned."""

    def __init__(self, name: str = "bench") -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{port}"
        moto = shutil.which("moto_server", path=os.path.dirname(sys.executable))
        self.server = subprocess.Popen(
            [moto or "moto_server", "-H", "127.0.0.1", "-p", str(port)],
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
            for page in self.s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
                for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
                    self.s3.delete_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])
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
        results = {name: Measured() for name in variants}
        names = list(variants)
        for round_ in range(repeat):
            for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
                self.empty()
                self.put(path, key)
                self.measure(variants[name], results[name])
                print(f"  {name}: {results[name].seconds[-1]:.2f}s", file=sys.stderr)
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


def table(title: str, rows: list[tuple[str, Measured]], size: int, floor: str) -> str:
    base = dict(rows)[floor].wall
    lines = [
        title,
        f"{'run':<44} {'wall s':>8} {'MB/s':>8} {'peak RSS MiB':>13} {'server CPU s':>13}"
        f" {'÷ floor':>8}",
    ]
    for name, m in rows:
        cpu = statistics.median(m.server_cpu) if m.server_cpu else float("nan")
        lines.append(
            f"{name:<44} {m.wall:8.2f} {size / m.wall / 1e6:8.1f} "
            f"{m.rss / 1024:13.1f} {cpu:13.2f} {m.wall / base:8.2f}"
        )
    return "\n".join(lines)
