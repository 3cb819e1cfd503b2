"""An archived original back in staging, as a new staging version with its bytes and metadata
(minus the archive's own provenance): what `conveyor reprocess` does for each key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conveyor.metadata import SOURCE_PREFIX
from conveyor.objects import ObjectVersion


def archived_head(s3: Any, archive: str, key: str, version_id: str) -> dict[str, Any]:
    return s3.head_object(Bucket=archive, Key=key, VersionId=version_id)


def copy_back(
    s3: Any, *, staging: str, archive: str, key: str, head: Mapping[str, Any]
) -> ObjectVersion:
    """CopyObject of the archive version `head` describes into staging; the new version."""
    metadata = {
        k: v for k, v in head.get("Metadata", {}).items() if not k.startswith(SOURCE_PREFIX)
    }
    response = s3.copy_object(
        CopySource={"Bucket": archive, "Key": key, "VersionId": head["VersionId"]},
        Bucket=staging,
        Key=key,
        MetadataDirective="REPLACE",
        Metadata=metadata,
        ContentType=head.get("ContentType", "binary/octet-stream"),
    )
    return ObjectVersion(
        staging,
        key,
        response["CopyObjectResult"]["ETag"],
        int(head["ContentLength"]),
        response.get("VersionId"),
    )
