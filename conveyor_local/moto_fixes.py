"""Where moto answers differently from S3 in a way a user of the local stack would hit.

ListObjectVersions: botocore always asks for `encoding-type=url` (keys may hold characters XML
cannot carry, such as ESC), and S3 then URL-encodes the keys it lists. moto ignores the request and
writes the raw key into the XML, which fails to render (an HTTP 500): a key with a control
character could never be listed, pinned or processed. The fix encodes as S3 does.

ListJobs and ListObjectVersions answered from everything moto holds: see moto_listing.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from conveyor_local import moto_listing, moto_transactions

ENCODED_FIELDS = ("Prefix", "KeyMarker", "NextKeyMarker", "Delimiter")


def apply() -> None:
    """Patch moto's S3 and Batch responses in this process (idempotent)."""
    moto_listing.apply()  # ListJobs by creation time, ListObjectVersions under the prefix only
    moto_transactions.apply()  # TransactWriteItems without a whole-table copy per write
    from moto.core.responses import ActionResult
    from moto.s3.responses import S3Response

    original = S3Response.list_object_versions
    if getattr(original, "conveyor_fix", False):
        return

    def list_object_versions(self: Any) -> Any:
        if self.querystring.get("encoding-type", [None])[0] != "url":
            return original(self)
        serialize = self.serialized

        def encoded(action: ActionResult) -> Any:
            return serialize(ActionResult(url_encoded(dict(action.result))))

        self.serialized = encoded
        try:
            return original(self)
        finally:
            del self.serialized

    list_object_versions.conveyor_fix = True  # type: ignore[attr-defined]
    S3Response.list_object_versions = list_object_versions  # type: ignore[method-assign]


def url_encoded(listing: dict[str, Any]) -> dict[str, Any]:
    """A ListObjectVersions result with its keys URL-encoded, as S3 answers `encoding-type=url`."""
    for group in ("Versions", "DeleteMarkers"):
        listing[group] = [{**entry, "Key": quote(entry["Key"])} for entry in listing.get(group, [])]
    for name in ENCODED_FIELDS:
        if listing.get(name):
            listing[name] = quote(listing[name])
    listing["EncodingType"] = "url"
    return listing
