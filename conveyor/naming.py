"""Where a transform's output goes: the transform's default name, or the route's template.

Default names are one-to-one with source keys: the whole key, kept as it is, plus a suffix. A
route's template may map two keys to one name (`{dir}/{stem}.mp4` for `a.mov` and `a.mp4`); the
worker then refuses to replace an output whose provenance names another key (see provenance).
"""

from __future__ import annotations

from string import Formatter

from conveyor.errors import BadInput

PLACEHOLDERS = ("key", "dir", "stem", "ext", "transform", "version_id")
"""`{key}` the whole key, `{dir}` everything before its last `/`, `{stem}` its name without
extension, `{ext}` the extension with its dot, `{transform}`, `{version_id}` (empty on a bucket
without versioning)."""
MAX_KEY_BYTES = 1024


def output_key(key: str, template: str, transform: str, version_id: str | None) -> str:
    """Fill the template; a template that names an unknown field or yields no key is bad input.

    Nothing of the key is normalised (`a//b` stays apart from `a/b`, `/a` from `a`); only the
    slash an empty `{dir}` leaves in front of a top-level key's name is dropped.
    """
    problem = template_problem(template)
    if problem:
        raise BadInput(problem)
    rendered = template.format(**_fields(key, transform, version_id))
    if "/" not in key and template.startswith("{dir}/"):
        rendered = rendered.removeprefix("/")
    if not rendered or rendered.endswith("/"):
        raise BadInput(f"output key template {template!r} gives no object name for {key!r}")
    if len(rendered.encode()) > MAX_KEY_BYTES:
        raise BadInput(f"output key for {key!r} is longer than S3's {MAX_KEY_BYTES} bytes")
    return rendered


def template_problem(template: str) -> str | None:
    """Why `template` can name no output, or None: checked when routes are read (start-up) and
    again by the worker, which may be given a template by hand."""
    try:
        names = {name for _, name, _, _ in Formatter().parse(template) if name is not None}
    except ValueError as err:
        return f"output key template {template!r} is malformed: {err}"
    unknown = sorted(n for n in names if n not in PLACEHOLDERS)
    if unknown:
        return (
            f"output key template {template!r} names {', '.join(unknown) or 'a blank field'}; "
            f"known: {', '.join('{' + p + '}' for p in PLACEHOLDERS)}"
        )
    return None


def _fields(key: str, transform: str, version_id: str | None) -> dict[str, str]:
    directory, _, name = key.rpartition("/")
    dot = name.rfind(".")
    stem, ext = (name[:dot], name[dot:]) if dot > 0 else (name, "")
    return {
        "key": key,
        "dir": directory,
        "stem": stem,
        "ext": ext,
        "transform": transform,
        "version_id": version_id or "",
    }
