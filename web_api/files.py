"""`GET /files` and `GET /files/{id}`: a person's files from the ledger and a staging listing of
their own prefix, with a short-lived link to each finished output."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from conveyor.ledger.entries import Entry
from conveyor.s3 import head_or_none
from web_api import views
from web_api.auth import User
from web_api.errors import NotFound
from web_api.factory import Services
from web_api.keys import FileKey, file_prefix, parse_key

LIST_LIMIT = 200
DOWNLOAD_SECONDS = 5 * 60
"""A download link is a bearer key to the output: minutes, enough to start the download."""


@dataclass
class Found:
    """Everything known of one key: its ledger entries and what staging holds of it."""

    file: FileKey
    entries: list[Entry] = field(default_factory=list)
    staged: views.Staged | None = None

    @property
    def newest(self) -> Entry | None:
        return views.newest(self.entries)


def list_files(user: User, services: Services, limit: int = LIST_LIMIT) -> list[dict[str, Any]]:
    """The person's files, newest first (by file id), at most `limit`."""
    found = gather(services, user.prefix)
    newest_first = sorted(found.values(), key=lambda f: (f.file.file_id, f.file.key), reverse=True)
    return [describe(f, services) for f in newest_first[:limit]]


def get_file(user: User, file_id: str, services: Services) -> dict[str, Any]:
    """One file of the person's, with every version of it the ledger knows."""
    found = find(user, file_id, services)
    return {**describe(found, services), "history": views.history(found.entries)}


def find(user: User, file_id: str, services: Services) -> Found:
    """The person's file with this id; NotFound for an id that is not under their own prefix
    (another person's id included: it is never looked for anywhere else)."""
    try:
        prefix = file_prefix(user.sub, file_id)
    except ValueError as err:
        raise NotFound("no such file") from err
    found = gather(services, prefix)
    if not found:
        raise NotFound("no such file")
    return found[min(found)]  # one key per file id: the API never writes two


def gather(services: Services, prefix: str) -> dict[str, Found]:
    """Every key of this scheme under `prefix`, from both sources."""
    bucket = services.config.staging_bucket
    entries: dict[str, list[Entry]] = defaultdict(list)
    for entry in services.ledger.under_prefix(bucket, prefix):
        entries[entry.key].append(entry)
    staged: dict[str, views.Staged] = {}
    for page in services.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        staged.update((obj["Key"], obj) for obj in page.get("Contents", []))
    found = {}
    for key in entries.keys() | staged.keys():
        parsed = parse_key(key)
        if parsed is not None and key.startswith(prefix):
            found[key] = Found(parsed, entries.get(key, []), staged.get(key))
    return found


def describe(found: Found, services: Services) -> dict[str, Any]:
    view = views.file_view(found.file, found.entries, found.staged)
    if view["status"] == "SUCCEEDED":
        view["output"] = output_link(found.newest, services)
    return view


def output_link(entry: Entry | None, services: Services) -> dict[str, Any] | None:
    """The output's key, size and a presigned GET that saves it under its own name; None when
    there is no output (any more)."""
    where = views.output_of(entry)
    if entry is None or where is None:
        return None
    size = views.recorded_output_size(entry)
    if size is None:
        head = head_or_none(services.s3, Bucket=where.bucket, Key=where.key)
        if head is None:
            return None
        size = int(head["ContentLength"])
    name = where.key.rsplit("/", 1)[-1]
    url = services.presigner.generate_presigned_url(
        "get_object",
        Params={
            "Bucket": where.bucket,
            "Key": where.key,
            "ResponseContentDisposition": views.attachment(name),
        },
        ExpiresIn=DOWNLOAD_SECONDS,
    )
    return {"key": where.key, "size": size, "url": url}
