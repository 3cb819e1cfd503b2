"""The page's built files (`web/dist/`): which file a URL path names, if any, and its type. A path
that climbs out of the folder (`..`, encoded or not, a symlink) names nothing."""

from __future__ import annotations

from pathlib import Path

from werkzeug.security import safe_join

import conveyor_local

SITE = Path(conveyor_local.__file__).resolve().parent.parent / "web" / "dist"
"""`npm run build` in `web/` (`make web`) writes the page here, next to the package source."""
INDEX = "index.html"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".webp": "image/webp",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
    ".webmanifest": "application/manifest+json",
}
"""Fixed here, not guessed from the machine's mime.types: with `nosniff` a wrong type breaks the
page."""
DEFAULT_TYPE = "application/octet-stream"

MISSING = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Conveyor: page not built</title></head>
<body><main><h1>The page is not built yet</h1>
<p>Run <code>make web</code> in the Conveyor checkout (it builds <code>web/dist/</code>), then
reload. The API under <code>/api</code> works already.</p></main></body></html>
"""
"""What `/` answers when the page has not been built: a reason and the fix, never a crash."""


def find(root: Path, url_path: str) -> Path | None:
    """The file under `root` that `url_path` (decoded, as werkzeug gives it) names, or None:
    `/` is the index; a directory, a missing file or anything outside `root` is None."""
    relative = url_path.lstrip("/") or INDEX
    joined = safe_join(str(root), relative)
    if joined is None:
        return None
    try:
        base = root.resolve(strict=True)
        path = Path(joined).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not path.is_relative_to(base) or not path.is_file():
        return None
    return path


def content_type(path: Path) -> str:
    return TYPES.get(path.suffix.lower(), DEFAULT_TYPE)
