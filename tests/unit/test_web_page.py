"""The upload page (web/): its own node tests pass, and its build loads nothing from another
origin, so the CSP can allow 'self' alone for scripts and styles and no CDN is ever trusted."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

WEB = Path(__file__).resolve().parents[2] / "web"
DIST = WEB / "dist"
BUILD_FIRST = "web/dist is not built: run `make web` (npm ci, then npm run build)"
CDN_HOSTS = re.compile(
    r"unpkg\.com|jsdelivr\.net|cdnjs\.cloudflare\.com|releases\.transloadit\.com|esm\.sh"
    r"|skypack\.dev|fonts\.googleapis\.com|fonts\.gstatic\.com|ajax\.googleapis\.com"
)
HOOKS = (
    "sign-in",
    "username",
    "password",
    "sign-in-button",
    "sign-out",
    "uploader",
    "files",
    "signed-in-as",
    "error",
)
"""The ids the browser tests find the page by."""


class _Page(HTMLParser):
    """The URLs index.html loads (scripts, stylesheets, images) and the ids it defines."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[str] = []
        self.ids: set[str] = set()
        self.live: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = {name: value or "" for name, value in attrs}
        if "id" in named:
            self.ids.add(named["id"])
        if named.get("aria-live"):
            self.live.append(named["aria-live"])
        if tag in ("script", "img", "iframe") and "src" in named:
            self.loads.append(named["src"])
        if tag == "link" and "href" in named:
            self.loads.append(named["href"])


def _page() -> _Page:
    index = DIST / "index.html"
    if not index.exists():
        pytest.fail(BUILD_FIRST)
    page = _Page()
    page.feed(index.read_text(encoding="utf-8"))
    return page


def _bundles() -> list[Path]:
    files = sorted(DIST.glob("*.js")) + sorted(DIST.glob("*.css"))
    if not files:
        pytest.fail(BUILD_FIRST)
    return files


def test_the_page_unit_tests_pass() -> None:
    npm = shutil.which("npm")
    if shutil.which("node") is None or npm is None:
        pytest.skip("Node.js (node and npm) is not installed: the page's own tests need it")
    if not (WEB / "node_modules").is_dir():
        pytest.fail("web/node_modules is missing: run `make web` (npm ci from the lock file)")
    run = subprocess.run(
        [npm, "test", "--silent"], cwd=WEB, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert re.search(r"^# fail 0$", run.stdout, re.MULTILINE), run.stdout[-2000:]
    passed = re.search(r"^# pass (\d+)$", run.stdout, re.MULTILINE)
    assert passed and int(passed.group(1)) > 0, run.stdout[-2000:]


def test_index_loads_only_its_own_files() -> None:
    page = _page()
    assert page.loads, "index.html loads no script or stylesheet"
    for url in page.loads:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"index.html loads {url} from elsewhere"
        assert (DIST / parts.path).is_file(), f"index.html loads {url}, which the build lacks"


def test_the_bundles_reference_no_cdn_and_import_nothing_remote() -> None:
    for bundle in _bundles():
        text = bundle.read_text(encoding="utf-8")
        assert not CDN_HOSTS.search(text), f"{bundle.name} names a CDN"
        assert not re.search(r"""import\s*\(\s*["']https?:""", text), f"{bundle.name} imports a URL"
        if bundle.suffix == ".css":
            assert "@import" not in text, f"{bundle.name} still imports a stylesheet"
            for url in re.findall(r"url\(\s*['\"]?([^'\")\s]+)", text):
                assert url.startswith("data:") or not urlsplit(url).scheme, (
                    f"{bundle.name} loads {url}"
                )


def test_the_page_has_the_hooks_the_browser_tests_use() -> None:
    page = _page()
    assert set(HOOKS) <= page.ids, f"missing ids: {sorted(set(HOOKS) - page.ids)}"
    assert "polite" in page.live, "the list of files is not announced politely"
