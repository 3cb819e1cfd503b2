"""What `POST /uploads` accepts, decided without I/O: each refusal is one sentence for a 400."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from web_api.errors import BadRequest
from web_api.keys import clean_name

MAX_SIZE = 5 * 1024**4
"""5 TiB: S3's largest object."""
FIELDS = ("name", "size", "type")
ALLOWED_TYPES = ("video/*", "audio/*", "image/*", "application/octet-stream", "application/mxf")
_MEDIA = re.compile(r"^(video|audio|image)/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$")
"""A top-level media type the pipeline transforms, and a subtype of RFC 6838's characters (no
parameters, blanks or controls: the type is signed into the upload as it is)."""


@dataclass(frozen=True)
class UploadRequest:
    name: str
    """The client's name, cleaned (see `keys.clean_name`); never empty."""
    size: int
    type: str


def parse_upload(body: Any) -> UploadRequest:
    """The request, or BadRequest naming what is wrong with it."""
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object with name, size and type.")
    missing = [f for f in FIELDS if f not in body]
    if missing:
        raise BadRequest(f"Missing {_listed(missing)}: name, size and type are required.")
    extra = sorted(str(f) for f in body if f not in FIELDS)
    if extra:
        raise BadRequest(f"Unknown {_listed(extra)}: only name, size and type are accepted.")
    name, size, kind = body["name"], body["size"], body["type"]
    if not isinstance(name, str):
        raise BadRequest("name must be a string.")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError as err:  # a lone surrogate: JSON allows it, S3 keys cannot hold it
        raise BadRequest("name is not valid Unicode text (it holds a lone surrogate).") from err
    cleaned = clean_name(name)
    if not cleaned:
        raise BadRequest(
            "name has nothing left once slashes, control characters and leading dots are removed."
        )
    if not isinstance(size, int) or isinstance(size, bool):
        raise BadRequest("size must be a whole number of bytes.")
    if size < 1:
        raise BadRequest("size must be at least 1 byte: an empty file has nothing to transform.")
    if size > MAX_SIZE:
        raise BadRequest(f"size must be at most 5 TiB ({MAX_SIZE} bytes), S3's largest object.")
    if not isinstance(kind, str) or not type_allowed(kind):
        shown = repr(kind) if isinstance(kind, str) else "that type"
        raise BadRequest(f"type {shown[:80]} is not allowed: use {', '.join(ALLOWED_TYPES)}.")
    return UploadRequest(cleaned, size, kind)


def type_allowed(kind: str) -> bool:
    return kind in ALLOWED_TYPES[3:] or bool(_MEDIA.match(kind))


def _listed(fields: list[str]) -> str:
    shown = ", ".join(repr(f[:40]) for f in fields[:5])
    return f"field{'s' if len(fields) > 1 else ''} {shown}"
