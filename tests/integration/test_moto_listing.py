"""moto as the local stack patches it (conveyor_local.moto_listing) still lists object versions
as S3 does: under the prefix only, newest first, by delimiter, page by page."""

from __future__ import annotations

import uuid

from tests.conftest import Stack


def test_versions_under_a_prefix_are_listed_as_s3_lists_them(stack: Stack) -> None:
    s3, bucket = stack.s3, stack.staging
    top = f"listing-{uuid.uuid4().hex[:6]}/"
    first = s3.put_object(Bucket=bucket, Key=f"{top}a", Body=b"1")["VersionId"]
    second = s3.put_object(Bucket=bucket, Key=f"{top}a", Body=b"2")["VersionId"]
    s3.put_object(Bucket=bucket, Key=f"{top}ab", Body=b"3")
    s3.put_object(Bucket=bucket, Key=f"{top}sub/c.txt", Body=b"4")
    s3.put_object(Bucket=bucket, Key="elsewhere.txt", Body=b"5")

    listed = s3.list_object_versions(Bucket=bucket, Prefix=f"{top}a")["Versions"]
    assert [(v["Key"], v["VersionId"], v["IsLatest"]) for v in listed] == [
        (f"{top}a", second, True),
        (f"{top}a", first, False),
        (f"{top}ab", listed[2]["VersionId"], True),
    ]

    by_folder = s3.list_object_versions(Bucket=bucket, Prefix=top, Delimiter="/")
    assert [p["Prefix"] for p in by_folder["CommonPrefixes"]] == [f"{top}sub/"]
    assert {v["Key"] for v in by_folder["Versions"]} == {f"{top}a", f"{top}ab"}

    pages = s3.get_paginator("list_object_versions").paginate(
        Bucket=bucket, Prefix=top, PaginationConfig={"PageSize": 1}
    )
    keys = [v["Key"] for page in pages for v in page.get("Versions", [])]
    assert keys == [f"{top}a", f"{top}a", f"{top}ab", f"{top}sub/c.txt"]
