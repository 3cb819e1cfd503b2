"""Routing rules: which transform (and queue, definition, output name) a new object gets.

`CONVEYOR_ROUTES` is a JSON list of rules; the first rule that matches wins. A rule:
`{"match": "videos/*.mov", "transform": "h264-720p", "min_size": 1, "max_size": 10737418240,
"job_queue": "...", "job_definition": "...", "output_key": "{dir}/{stem}.mp4"}`; the `command`
transform also takes `"argv": ["xz", "-c"]`.
`match` is a glob on the whole key (`*` spans `/`), compared without regard to case.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from fnmatch import fnmatchcase
from typing import Any

from conveyor.errors import ConfigError
from conveyor.naming import template_problem


@dataclass(frozen=True)
class Route:
    match: str
    transform: str
    min_size: int | None = None
    max_size: int | None = None
    job_queue: str | None = None
    job_definition: str | None = None
    output_key: str | None = None
    argv: tuple[str, ...] | None = None
    """The command line of the `command` transform (no shell)."""

    def accepts(self, key: str, size: int) -> bool:
        if self.min_size is not None and size < self.min_size:
            return False
        if self.max_size is not None and size > self.max_size:
            return False
        return fnmatchcase(key.lower(), self.match.lower())


TRANSFORMS = ("copy", "gzip", "command", "h264-720p", "h264-1080p")
"""Every transform the worker has (`batch_job.transforms.REGISTRY`; a test keeps the two equal):
the core cannot import the worker, and a route naming another must fail at start-up, not in a
job."""


def check_transform(name: str, where: str = "transform") -> str:
    """`name` if the worker knows it, else a ConfigError listing the known ones."""
    if name not in TRANSFORMS:
        raise ConfigError(f"{where}: unknown transform {name!r}; known: {', '.join(TRANSFORMS)}")
    return name


VIDEO_EXTENSIONS = ("mov", "mp4", "m4v", "mkv", "avi", "webm", "mxf", "mts", "mpg", "mpeg", "wmv")

DEFAULT_ROUTES: tuple[Route, ...] = tuple(
    Route(match=f"*.{ext}", transform="h264-720p") for ext in VIDEO_EXTENSIONS
)
"""With no CONVEYOR_ROUTES, videos become 720p H.264; anything else is recorded SKIPPED."""

_FIELDS = {f.name: f for f in fields(Route)}
_STRINGS = ("match", "transform", "job_queue", "job_definition", "output_key")
_SIZES = ("min_size", "max_size")


def parse_routes(text: str | None) -> tuple[Route, ...]:
    """Parse and validate CONVEYOR_ROUTES; the error names the rule and the field at fault."""
    if text is None or not text.strip():
        return DEFAULT_ROUTES
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(f"CONVEYOR_ROUTES is not valid JSON: {err}") from err
    if not isinstance(raw, list) or not raw:
        raise ConfigError("CONVEYOR_ROUTES must be a non-empty JSON list of rules")
    return tuple(_parse_rule(index, rule) for index, rule in enumerate(raw, start=1))


def route(key: str, size: int, routes: Sequence[Route]) -> Route | None:
    """The first rule that accepts the object, or None (the version is then SKIPPED)."""
    return next((r for r in routes if r.accepts(key, size)), None)


def _parse_rule(index: int, rule: Any) -> Route:
    where = f"CONVEYOR_ROUTES rule {index}"
    if not isinstance(rule, dict):
        raise ConfigError(f"{where}: must be a JSON object, got {json.dumps(rule)}")
    where += f" ({json.dumps(rule)[:120]})"
    unknown = sorted(set(rule) - set(_FIELDS))
    if unknown:
        raise ConfigError(
            f"{where}: unknown field {', '.join(map(repr, unknown))}; known: {', '.join(_FIELDS)}"
        )
    for name in ("match", "transform"):
        if name not in rule:
            raise ConfigError(f"{where}: {name!r} is required")
    for name in _STRINGS:
        if name in rule and (not isinstance(rule[name], str) or not rule[name].strip()):
            raise ConfigError(f"{where}: {name!r} must be a non-empty string")
    check_transform(rule["transform"], where)
    problem = template_problem(rule["output_key"]) if "output_key" in rule else None
    if problem:
        raise ConfigError(f"{where}: {problem}")
    for name in _SIZES:
        value = rule.get(name)
        if value is not None and (type(value) is not int or value < 0):
            raise ConfigError(f"{where}: {name!r} must be a whole number of bytes >= 0")
    argv = rule.get("argv")
    if argv is not None and (
        not isinstance(argv, list) or not argv or not all(isinstance(a, str) and a for a in argv)
    ):
        raise ConfigError(f"{where}: 'argv' must be a non-empty list of non-empty strings")
    if rule["transform"] == "command" and argv is None:
        raise ConfigError(f"{where}: transform 'command' needs 'argv', e.g. [\"xz\", \"-c\"]")
    low, high = rule.get("min_size"), rule.get("max_size")
    if low is not None and high is not None and low > high:
        raise ConfigError(f"{where}: 'min_size' is larger than 'max_size'")
    return Route(**{**rule, "argv": tuple(argv) if argv else None})
