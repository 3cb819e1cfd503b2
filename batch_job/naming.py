"""Where a transform's output goes: the transform's default name, or the route's template."""

from __future__ import annotations

import posixpath
import re
from string import Formatter

from batch_job.errors import BadInput

PLACEHOLDERS = ("key", "dir", "stem", "ext", "transform", "version_id")
"""`{key}` the whole key, `{dir}` its folder, `{stem}` its name without extension, `{ext}` the
extension with its dot, `{transform}`, `{version_id}` (empty on a bucket without versioning)."""
MAX_KEY_BYTES = 1024


def output_key(key: str, template: str, transform: str, version_id: str | None) -> str:
    """Fill the template; a template that names an unknown field or yields no key is bad input."""
    fields = _fields(key, transform, version_id)
    try:
        names = {name for _, name, _, _ in Formatter().parse(template) if name is not None}
    except ValueError as err:
        raise BadInput(f"output key template {template!r} is malformed: {err}") from err
    unknown = sorted(n for n in names if n not in fields)
    if unknown:
        raise BadInput(
            f"output key template {template!r} names {', '.join(unknown)}; "
            f"known: {', '.join('{' + p + '}' for p in PLACEHOLDERS)}"
        )
    rendered = re.sub(r"/{2,}", "/", template.format(**fields)).lstrip("/")
    if not rendered or rendered.endswith("/"):
        raise BadInput(f"output key template {template!r} gives no object name for {key!r}")
    if len(rendered.encode()) > MAX_KEY_BYTES:
        raise BadInput(f"output key for {key!r} is longer than S3's {MAX_KEY_BYTES} bytes")
    return rendered


def _fields(key: str, transform: str, version_id: str | None) -> dict[str, str]:
    directory, name = posixpath.split(key)
    stem, ext = posixpath.splitext(name)
    return {
        "key": key,
        "dir": directory,
        "stem": stem,
        "ext": ext,
        "transform": transform,
        "version_id": version_id or "",
    }
