"""Where a person's uploads live in staging: `uploads/<sub>/<file id>/<safe name>`, chosen here,
never taken from the client. Pure: no I/O, no clock of its own."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

UPLOADS = "uploads/"
FILE_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{8}$")
"""`<UTC YYYYmmddTHHMMSSZ>-<8 lowercase hex>`: sorts by time, safe in a path and a URL."""
SUB = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,127}$")
"""A Cognito `sub` is a UUID; anything that could leave its folder (a `/`, dots) is refused."""
MAX_NAME_BYTES = 200
FALLBACK_NAME = "file"
_UNSAFE = re.compile(r"[/\\\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
"""Slashes, control characters (C0, DEL, C1), line and paragraph separators, and the
bidirectional controls that make a name read otherwise than it is (`invoice\u202egpj.exe` shows
as `invoiceexe.jpg`)."""
_LEADING = re.compile(r"^[\s.]+")


@dataclass(frozen=True)
class FileKey:
    sub: str
    file_id: str
    name: str

    @property
    def key(self) -> str:
        return f"{user_prefix(self.sub)}{self.file_id}/{self.name}"


def valid_sub(sub: str) -> bool:
    return bool(SUB.match(sub))


def user_prefix(sub: str) -> str:
    """`uploads/<sub>/`: everything of one person's, and nothing of anyone else's."""
    if not valid_sub(sub):
        raise ValueError(f"not a user id: {sub!r}")
    return f"{UPLOADS}{sub}/"


def file_prefix(sub: str, file_id: str) -> str:
    """`uploads/<sub>/<file id>/`: the one file's folder (its name follows)."""
    if not FILE_ID.match(file_id):
        raise ValueError(f"not a file id: {file_id!r}")
    return f"{user_prefix(sub)}{file_id}/"


def new_file_id(now: datetime, token: str | None = None) -> str:
    """A new file id at `now`; `token` (8 lowercase hex) is random unless given."""
    suffix = token if token is not None else secrets.token_hex(4)
    file_id = f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{suffix}"
    if not FILE_ID.match(file_id):
        raise ValueError(f"not a file id: {file_id!r}")
    return file_id


def clean_name(name: str) -> str:
    """The name without slashes, control and bidirectional characters, leading dots and
    surrounding blanks, cut to 200 UTF-8 bytes on a character boundary, keeping the extension
    when the stem keeps a character; may be empty."""
    text = _LEADING.sub("", _UNSAFE.sub("", name)).rstrip()
    if len(text.encode()) <= MAX_NAME_BYTES:
        return text
    dot = text.rfind(".")
    ext = text[dot:] if dot > 0 else ""
    room = MAX_NAME_BYTES - len(ext.encode())
    stem = _cut(text[: len(text) - len(ext)], room) if ext and room > 0 else ""
    if not stem:
        return _cut(text, MAX_NAME_BYTES).rstrip()
    return stem + ext


def safe_name(name: str) -> str:
    """`clean_name`, or `file` when nothing is left."""
    return clean_name(name) or FALLBACK_NAME


def upload_key(sub: str, file_id: str, name: str) -> str:
    return f"{file_prefix(sub, file_id)}{safe_name(name)}"


def parse_key(key: str) -> FileKey | None:
    """The parts of a key this scheme made, or None for any other key."""
    parts = key.split("/")
    if len(parts) != 4 or f"{parts[0]}/" != UPLOADS or not parts[3]:
        return None
    _, sub, file_id, name = parts
    if not valid_sub(sub) or not FILE_ID.match(file_id):
        return None
    return FileKey(sub, file_id, name)


def _cut(text: str, size: int) -> str:
    """At most `size` UTF-8 bytes of `text`, never half a character."""
    return text.encode()[:size].decode(errors="ignore")
