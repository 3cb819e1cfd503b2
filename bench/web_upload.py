"""How fast does the page upload a large file, against `conveyor upload` of the same file?

    .venv/bin/python -m bench.web_upload [--mib 500] [--repeat 3]

Starts `conveyor local up` (page and API on 127.0.0.1, a user added), then alternates, --repeat
times: `conveyor upload FILE` (a child process, the same endpoint) and the page in Debian's headless
chromium (Selenium) signed in and given the same file, timed from the moment the file is handed
to the page until the object is in staging (a listing every 50 ms). The file is a `.bin`, which no
default route takes, so no job competes for the two cores. Prints the medians and their ratio
(the goal: the page within 1.3x of the CLI). Needs chromium and chromium-driver (`make test`
installs them as root).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3

from bench.harness import MiB, random_file, timed

PY = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_stack(home: Path, part_mib: int | None) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONVEYOR_", "AWS_"))}
    env["CONVEYOR_HOME"] = str(home)
    if part_mib:
        env["CONVEYOR_WEB_PART_SIZE"] = str(part_mib * MiB)
    process = subprocess.Popen(
        [PY, "-m", "conveyor_cli", "local", "up", "--port", str(free_port()), "--web-port", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    state_file = home / "local.json"
    deadline = time.monotonic() + 60
    while not (state_file.exists() and json.loads(state_file.read_text())["pid"] == process.pid):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("conveyor local up did not start")
        time.sleep(0.2)
    added = subprocess.run(
        [PY, "-m", "conveyor_cli", "local", "user", "add", "bench"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    password = next(
        line.removeprefix("password: ")
        for line in added.stdout.splitlines()
        if line.startswith("password: ")
    )
    state = json.loads(state_file.read_text())
    return process, {**state, "password": password, "env": env}


def browser() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


def page_upload(driver: Any, state: dict[str, Any], path: Path, s3: Any) -> float:
    """Seconds from handing the file to the page until staging holds it."""
    from selenium.webdriver.common.by import By

    staging = state["settings"]["CONVEYOR_STAGING_BUCKET"]
    driver.get(state["web"])  # a fresh page: no Uppy state from the round before
    driver.execute_script("sessionStorage.clear()")
    driver.get(state["web"])
    while not driver.execute_script("return !document.getElementById('sign-in')?.hidden"):
        time.sleep(0.1)
    driver.find_element(By.ID, "username").send_keys("bench")
    driver.find_element(By.ID, "password").send_keys(state["password"])
    driver.find_element(By.ID, "sign-in-button").click()
    while driver.execute_script("return document.getElementById('signed-in-as').textContent") != (
        "bench"
    ):
        time.sleep(0.1)
    before = {o["Key"] for o in _listed(s3, staging)}
    field = driver.find_element(By.CSS_SELECTOR, "#uploader input[type=file]")
    started = time.perf_counter()
    field.send_keys(str(path))
    deadline = started + 600
    while time.perf_counter() < deadline:
        if any(o["Key"] not in before for o in _listed(s3, staging)):
            return time.perf_counter() - started
        time.sleep(0.05)
    raise RuntimeError("the page's upload did not reach staging in 10 minutes")


def _listed(s3: Any, bucket: str) -> list[dict[str, Any]]:
    return s3.list_objects_v2(Bucket=bucket, Prefix="uploads/").get("Contents", [])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--mib", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--part-mib", type=int, help="the API's part size for the page")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="conveyor-bench-web-") as tmp:
        folder = Path(tmp)
        process, state = start_stack(folder / "home", args.part_mib)
        s3 = boto3.client(
            "s3",
            endpoint_url=state["endpoint"],
            aws_access_key_id="local",
            aws_secret_access_key="local",
            region_name="us-east-1",
        )
        path = Path(random_file(str(folder / "big.bin"), args.mib * MiB))
        cli_env = {
            **state["env"],
            "AWS_ENDPOINT_URL": state["endpoint"],
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": "us-east-1",
            "CONVEYOR_CACHE_DIR": str(folder / "cache"),
            **state["settings"],
        }
        conveyor = shutil.which("conveyor", path=os.path.dirname(PY)) or "conveyor"
        cli, page = [], []
        driver = browser()
        try:
            for round_ in range(args.repeat):
                seconds, _ = timed(
                    [conveyor, "upload", str(path), "--key-prefix", f"cli{round_}/", "--json"],
                    cli_env,
                )
                cli.append(seconds)
                page.append(page_upload(driver, state, path, s3))
                print(
                    f"  round {round_ + 1}: cli {cli[-1]:.2f}s page {page[-1]:.2f}s",
                    file=sys.stderr,
                )
        finally:
            driver.quit()
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)
    c, p = statistics.median(cli), statistics.median(page)
    print(f"\n{args.mib} MiB, median of {args.repeat}")
    print(f"{'run':<34} {'wall s':>8} {'MB/s':>8} {'÷ CLI':>7}")
    for name, wall in (("conveyor upload", c), ("the page (Uppy, headless chromium)", p)):
        print(f"{name:<34} {wall:8.2f} {args.mib * MiB / wall / 1e6:8.1f} {wall / c:7.2f}")
    print(f"\npage ÷ CLI: {p / c:.2f} (goal: at most 1.30)")


if __name__ == "__main__":
    main()
