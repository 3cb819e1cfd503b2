"""Values from S3, the ledger or the disk, shown to a person exactly as they are, and harmless.

A key may hold `[/]` (rich markup), an escape sequence that clears the screen, or a newline that
forges a line; what the terminal receives is the key's characters, with every control character
written out as a visible escape (`\\x1b`, `\\n`) so nothing is interpreted and nothing vanishes.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rich.text import Text

_BEYOND_C0 = "\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069"
UNSAFE = re.compile(f"[\x00-\x1f{_BEYOND_C0}]")
"""C0 and C1 controls and DEL, line and paragraph separators, and the bidirectional controls that
can make a terminal show characters in another order than they are."""
ESCAPED = re.compile(f"{UNSAFE.pattern[:-1]}\\\\]")
"""What `visible` writes out: the unsafe characters, and the backslash its escapes begin with."""
RAW_IN_JSON = re.compile(f"[{_BEYOND_C0}]")
"""The unsafe characters `json.dumps(ensure_ascii=False)` leaves raw (it escapes C0 itself)."""

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}
"""A backslash is doubled, so a key holding the text `\x1b` never looks like one holding ESC."""


def visible(value: object) -> str:
    """`value` with each unsafe character written as an escape: `\\x1b`, `\\n`, `\\u202e`."""
    return ESCAPED.sub(_escape, str(value))


def literal(value: object, style: str = "") -> Text:
    """A rich cell or line for `value`: its characters, never read as markup, controls escaped."""
    return Text(visible(value), style=style)


def to_json(value: Any) -> str:
    """JSON for `--json`: the exact values, with every unsafe character as a `\\u` escape.

    `json.dumps(ensure_ascii=False)` escapes C0 controls only; DEL, C1 (ESC's 8-bit twin CSI is
    U+009B) and the bidirectional controls would reach the terminal raw. They can only occur
    inside strings, so escaping them in the text keeps it valid and decodes to the same values.
    """
    text = json.dumps(value, indent=2, ensure_ascii=False)
    return RAW_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def to_json_array(items: list[Any]) -> str:
    """A JSON array with one item a line: as exact as `to_json`, and quick for 10,000 items
    (an indented dump takes the JSON module's slow path)."""
    if not items:
        return "[]"
    lines = (json.dumps(item, ensure_ascii=False) for item in items)
    text = "[\n  " + ",\n  ".join(lines) + "\n]"
    return RAW_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"
