"""Routing rules: which transform (and queue, definition, output name) a new object gets.

`CONVEYOR_ROUTES` is a JSON list of rules; the first rule that matches wins. A rule:
`{"match": "videos/*.mov", "transform": "h264-720p", "min_size": 1, "max_size": 10737418240,
"job_queue": "...", "job_definition": "...", "output_key": "{dir}/{stem}.mp4"}`; the `command`
transform also takes `"argv": ["xz", "-c"]`, and `hls` a `"ladder": [1080, "720:3000k", 360]`
(heights, each with its video bitrate if not the default's), carried in the job's argv.
`match` is a glob on the whole key (`*` spans `/`), compared without regard to case.
"""

from __future__ import annotations

import json
import re
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
    """The command line of the `command` transform (no shell), or the `hls` ladder's rungs."""
    ladder: tuple[str, ...] | None = None
    """The `hls` transform's rungs, as the job's argv carries them (`parse_rung` reads each)."""

    def accepts(self, key: str, size: int) -> bool:
        if self.min_size is not None and size < self.min_size:
            return False
        if self.max_size is not None and size > self.max_size:
            return False
        return fnmatchcase(key.lower(), self.match.lower())


TRANSFORMS = ("copy", "gzip", "command", "h264-720p", "h264-1080p", "hls")
"""Every transform the worker has (`batch_job.transforms.REGISTRY`; a test keeps the two equal):
the core cannot import the worker, and a route naming another must fail at start-up, not in a
job."""


def check_transform(name: str, where: str = "transform") -> str:
    """`name` if the worker knows it, else a ConfigError listing the known ones."""
    if name not in TRANSFORMS:
        raise ConfigError(f"{where}: unknown transform {name!r}; known: {', '.join(TRANSFORMS)}")
    return name


RUNG = re.compile(r"(\d{1,5})(?::(\d{1,6})([kK]|[mM]))?")
"""One rung of an `hls` ladder: a height, optionally `:` and its video bitrate (`3000k`, `3M`)."""
RUNG_HEIGHTS = (64, 4320)
RUNG_KBPS = (50, 100_000)


def parse_rung(text: str) -> tuple[int, int | None]:
    """`"720"` -> (720, None), `"720:3000k"` -> (720, 3000) kbit/s; ValueError says why not.
    Shared by route validation (start-up) and the worker (a job given its argv by hand)."""
    found = RUNG.fullmatch(text.strip())
    if found is None:
        raise ValueError(f"ladder rung {text!r} is not HEIGHT or HEIGHT:BITRATE (e.g. 720:3000k)")
    height = int(found[1])
    low, high = RUNG_HEIGHTS
    if height % 2 or not low <= height <= high:
        raise ValueError(f"ladder rung {text!r}: height must be even, {low}..{high}")
    if found[2] is None:
        return height, None
    kbps = int(found[2]) * (1000 if found[3] in "mM" else 1)
    if not RUNG_KBPS[0] <= kbps <= RUNG_KBPS[1]:
        raise ValueError(f"ladder rung {text!r}: bitrate must be {RUNG_KBPS[0]}k..{RUNG_KBPS[1]}k")
    return height, kbps


def ladder_argv(ladder: Any) -> tuple[str, ...]:
    """A route's `ladder` (ints and "HEIGHT:BITRATE" strings) as argv strings; ValueError says
    what is wrong (not a list, a bad rung, a height twice)."""
    if not isinstance(ladder, list) or not ladder:
        raise ValueError("'ladder' must be a non-empty list, e.g. [1080, \"720:3000k\", 360]")
    rungs = []
    for rung in ladder:
        if type(rung) is not int and not isinstance(rung, str):
            raise ValueError(f"ladder rung {json.dumps(rung)} must be a height or a string")
        rungs.append(str(rung))
    heights = [parse_rung(rung)[0] for rung in rungs]
    if len(set(heights)) != len(heights):
        raise ValueError(f"'ladder' names a height twice: {rungs}")
    return tuple(rungs)


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
    ladder = _ladder(where, rule)
    if ladder is not None:
        argv = list(ladder)
    low, high = rule.get("min_size"), rule.get("max_size")
    if low is not None and high is not None and low > high:
        raise ConfigError(f"{where}: 'min_size' is larger than 'max_size'")
    return Route(**{**rule, "argv": tuple(argv) if argv else None, "ladder": ladder})


def _ladder(where: str, rule: dict[str, Any]) -> tuple[str, ...] | None:
    """The `hls` route's ladder as argv strings; only `hls` takes one, and then no `argv`."""
    if "ladder" not in rule:
        return None
    if rule["transform"] != "hls":
        raise ConfigError(f"{where}: 'ladder' is for transform 'hls' only")
    if "argv" in rule:
        raise ConfigError(f"{where}: transform 'hls' takes 'ladder', not 'argv'")
    try:
        return ladder_argv(rule["ladder"])
    except ValueError as err:
        raise ConfigError(f"{where}: {err}") from err
