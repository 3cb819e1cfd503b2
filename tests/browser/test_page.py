"""The page in a real headless Chromium against `conveyor local up`: sign in, upload, download.

Debian's `chromium` and `chromium-driver` (installed by `make test` as root, like ffmpeg) are driven
by Selenium. The stack routes `.mp4` to h264-720p and anything else to `copy`, so a downloaded
output can be compared byte for byte with what was uploaded.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.local import conveyor_env, stack_s3, start_local_up

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="needs Debian's chromium and chromium-driver (make test installs them as root)",
)
MiB = 1024 * 1024
ROUTES = [{"match": "*.mp4", "transform": "h264-720p"}, {"match": "*", "transform": "copy"}]
SCREENSHOT = Path(__file__).parents[2] / "docs" / "web-page.png"
"""Written when CONVEYOR_UPDATE_SCREENSHOT=1: the README shows it."""


class Page:
    """The stack's page in one browser, signed in as one user."""

    def __init__(self, driver: Any, url: str) -> None:
        self.driver = driver
        self.url = url

    def sign_in(self, user: str, password: str) -> None:
        from selenium.webdriver.common.by import By

        self.driver.get(self.url)
        self.wait(lambda: self.visible("sign-in"), "the sign-in form")
        self.driver.find_element(By.ID, "username").send_keys(user)
        self.driver.find_element(By.ID, "password").send_keys(password)
        self.driver.find_element(By.ID, "sign-in-button").click()
        self.wait(lambda: self.text("signed-in-as") == user, "signed in")

    def drop(self, *paths: Path) -> None:
        from selenium.webdriver.common.by import By

        field = self.driver.find_element(By.CSS_SELECTOR, "#uploader input[type=file]")
        field.send_keys("\n".join(str(p) for p in paths))

    def rows(self) -> dict[str, dict[str, str]]:
        """The file list as the person sees it, by file name."""
        script = """
          return [...document.querySelectorAll('#files tbody tr')].map(r => ({
            id: r.dataset.fileId, status: r.dataset.status,
            name: r.querySelector('.file-name')?.textContent ?? '',
            text: r.querySelector('.status-text')?.textContent ?? '',
            href: r.querySelector('a.download')?.href ?? '',
            retry: !!r.querySelector('button.retry')}))"""
        return {row["name"]: row for row in self.driver.execute_script(script)}

    def token(self) -> str:
        stored = self.driver.execute_script("return sessionStorage.getItem('conveyor.session')")
        assert stored, "no session in sessionStorage"
        return json.loads(stored)["accessToken"]

    def visible(self, element_id: str) -> bool:
        return self.driver.execute_script(
            "const e = document.getElementById(arguments[0]);"
            "return !!e && !e.hidden && !e.closest('[hidden]');",
            element_id,
        )

    def text(self, element_id: str) -> str:
        return self.driver.execute_script(
            "return document.getElementById(arguments[0])?.textContent ?? ''", element_id
        )

    def wait(self, done: Callable[[], Any], what: str, timeout: float = 60) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = done()
            if value:
                return value
            time.sleep(0.25)
        errors = self.text("error") + " " + self.text("upload-errors")
        raise AssertionError(f"timed out waiting for {what}; page says: {errors.strip()!r}")


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("home")
    process, state = start_local_up(
        home,
        "--workers",
        "2",
        CONVEYOR_ROUTES=json.dumps(ROUTES),
        CONVEYOR_WEB_MULTIPART_THRESHOLD=str(8 * MiB),
        CONVEYOR_WEB_PART_SIZE=str(5 * MiB),
    )
    users = {}
    for name in ("alice", "bob"):
        added = subprocess.run(
            [sys.executable, "-m", "conveyor_cli", "local", "user", "add", name],
            env=conveyor_env(home),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        [password] = [
            line.removeprefix("password: ")
            for line in added.stdout.splitlines()
            if line.startswith("password: ")
        ]
        users[name] = password
    yield {**state, "home": home, "users": users}
    process.send_signal(signal.SIGINT)
    process.wait(timeout=60)


@pytest.fixture
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--window-size=1280,1000")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


STATUS_BAR = "return document.querySelector('#uploader .uppy-StatusBar')?.textContent ?? ''"
PERCENT = re.compile(r"\b([1-9]|[1-9][0-9])%")
"""A percentage strictly between 0 and 100: the upload was seen on its way."""


def download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()


def web_url(state: dict[str, Any]) -> str:
    return state["web"]


def test_sign_in_upload_watch_and_download(
    local: dict[str, Any], browser: Any, tmp_path: Path
) -> None:
    from conveyor_local.media import make_video

    page = Page(browser, web_url(local))
    page.sign_in("alice", local["users"]["alice"])
    video = make_video(tmp_path / "clip.mp4", width=320, height=240, seconds=2, faststart=True)
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(60 * MiB))  # multipart: 12 parts of 5 MiB
    page.drop(video, big)
    shown: set[str] = set()

    def listed() -> bool:
        shown.add(page.driver.execute_script(STATUS_BAR))
        return {"clip.mp4", "big.bin"} <= set(page.rows())

    page.wait(listed, "both files listed", 120)
    assert any(PERCENT.search(text) for text in shown), f"no progress shown: {shown}"
    page.wait(
        lambda: all(r["status"] == "SUCCEEDED" for r in page.rows().values()),
        "both files SUCCEEDED",
        180,
    )
    rows = page.rows()
    assert download(rows["big.bin"]["href"]) == big.read_bytes()
    assert download(rows["clip.mp4"]["href"])[4:8] == b"ftyp"  # an MP4 (720p H.264)
    if os.environ.get("CONVEYOR_UPDATE_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(exist_ok=True)
        browser.save_screenshot(str(SCREENSHOT))


def test_an_upload_cut_off_mid_way_resumes(
    local: dict[str, Any], browser: Any, tmp_path: Path
) -> None:
    s3 = stack_s3(local)
    staging = local["settings"]["CONVEYOR_STAGING_BUCKET"]
    page = Page(browser, web_url(local))
    page.sign_in("alice", local["users"]["alice"])
    big = tmp_path / "cut.bin"
    big.write_bytes(os.urandom(40 * MiB))
    browser.set_network_conditions(offline=False, latency=5, throughput=4 * MiB)
    page.drop(big)

    def parts_up() -> int:
        for upload in s3.list_multipart_uploads(Bucket=staging).get("Uploads", []):
            if upload["Key"].endswith("/cut.bin"):
                listed = s3.list_parts(
                    Bucket=staging, Key=upload["Key"], UploadId=upload["UploadId"]
                )
                return len(listed.get("Parts", []))
        return 0

    page.wait(lambda: parts_up() >= 2, "two parts in staging", 120)
    browser.set_network_conditions(offline=True, latency=0, throughput=0)  # the connection drops
    time.sleep(3)
    browser.set_network_conditions(offline=False, latency=0, throughput=500 * MiB)
    [cut] = [u for u in s3.list_multipart_uploads(Bucket=staging)["Uploads"] if "cut" in u["Key"]]
    before = s3.list_parts(Bucket=staging, Key=cut["Key"], UploadId=cut["UploadId"])["Parts"]

    def succeeded() -> bool:
        # Uppy retries a failed part a few times by itself; past those the person presses Retry,
        # which resumes the same multipart upload (its parts are listed, not sent again).
        browser.execute_script(
            "document.querySelector('#uploader .uppy-StatusBar-actionBtn--retry')?.click()"
        )
        return page.rows().get("cut.bin", {}).get("status") == "SUCCEEDED"

    def resumed() -> bool:  # the same multipart upload goes on: no second one is started
        uploads = s3.list_multipart_uploads(Bucket=staging).get("Uploads", [])
        assert all(u["UploadId"] == cut["UploadId"] for u in uploads if "cut" in u["Key"])
        return succeeded()

    page.wait(resumed, "SUCCEEDED", 180)
    assert download(page.rows()["cut.bin"]["href"]) == big.read_bytes()
    assert len(before) >= 2


def test_one_user_never_sees_anothers_files(
    local: dict[str, Any], browser: Any, tmp_path: Path
) -> None:
    alice = Page(browser, web_url(local))
    alice.sign_in("alice", local["users"]["alice"])
    mine = tmp_path / "alice-only.bin"
    mine.write_bytes(b"alice's bytes")
    alice.drop(mine)
    alice.wait(lambda: "alice-only.bin" in alice.rows(), "alice's file listed", 60)
    theirs = next(iter(alice.rows().values()))["id"]
    browser.delete_all_cookies()
    browser.execute_script("sessionStorage.clear()")
    bob = Page(browser, web_url(local))
    bob.sign_in("bob", local["users"]["bob"])
    time.sleep(4)  # more than a poll of the list
    assert bob.rows() == {}
    request = urllib.request.Request(
        f"{web_url(local).rstrip('/')}/api/files/{theirs}",
        headers={"Authorization": f"Bearer {bob.token()}"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code in (403, 404)
