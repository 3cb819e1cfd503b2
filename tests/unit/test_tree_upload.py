"""A tree's master put whose answer is lost must not cost the run it may have committed."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from batch_job.tree_runs import RUN_METADATA, new_run_id
from batch_job.tree_upload import TreeUpload

MASTER = "v/a.mp4.hls/master.m3u8"


class FakeS3:
    """Puts land; the master's answer can be lost, and reading it back can fail."""

    def __init__(self, *, lose_master_answer: bool, head_fails: bool = False) -> None:
        self.objects: dict[str, dict[str, str]] = {}
        self.lose_master_answer = lose_master_answer
        self.head_fails = head_fails

    def put_object(self, Bucket: str, Key: str, Body: bytes, **kw: Any) -> dict[str, str]:
        self.objects[Key] = kw.get("Metadata") or {}
        if Key == MASTER and self.lose_master_answer:
            raise EndpointConnectionError(endpoint_url="http://s3")  # applied, answer lost
        return {"ETag": '"x"'}

    def head_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        if self.head_fails:
            raise EndpointConnectionError(endpoint_url="http://s3")
        if Key not in self.objects:
            raise ClientError({"Error": {"Code": "404"}}, "HeadObject")
        return {"Metadata": self.objects[Key], "ETag": '"x"'}

    def get_paginator(self, name: str) -> Any:
        objects = self.objects

        class Pages:
            def paginate(self, Bucket: str, Prefix: str, **kw: Any) -> Any:
                yield {"Contents": [{"Key": k} for k in list(objects) if k.startswith(Prefix)]}

        return Pages()

    def delete_objects(self, Bucket: str, Delete: dict[str, Any]) -> None:
        for entry in Delete["Objects"]:
            self.objects.pop(entry["Key"], None)


def _write(s3: FakeS3, run: str) -> None:
    with TreeUpload(s3, "out", MASTER, run, metadata={}, content_type="x") as tree:
        tree.put("360p/seg_00001.m4s", b"seg", "video/mp4")
        tree.set_master(f"#EXTM3U\n{run}/360p/index.m3u8\n".encode())
        tree.commit(replacing_etag=None)


@pytest.mark.parametrize("head_fails", [False, True])
def test_a_master_whose_answer_was_lost_keeps_its_run(head_fails: bool) -> None:
    s3 = FakeS3(lose_master_answer=True, head_fails=head_fails)
    run = new_run_id("v/a.mp4", "v1")
    with pytest.raises(EndpointConnectionError):
        _write(s3, run)
    assert s3.objects[MASTER][RUN_METADATA] == run
    assert f"v/a.mp4.hls/{run}/360p/seg_00001.m4s" in s3.objects  # what the master names


def test_a_failed_run_whose_master_names_another_run_is_removed() -> None:
    s3 = FakeS3(lose_master_answer=False)
    s3.objects[MASTER] = {RUN_METADATA: "r-other"}
    run = new_run_id("v/a.mp4", "v1")
    with (
        pytest.raises(RuntimeError, match="boom"),
        TreeUpload(s3, "out", MASTER, run, metadata={}, content_type="x") as tree,
    ):
        tree.put("360p/seg_00001.m4s", b"seg", "video/mp4")
        tree.set_master(b"#EXTM3U\n")
        tree._attempted = True  # a put was sent, and the master turned out to be another's
        raise RuntimeError("boom")
    assert list(s3.objects) == [MASTER]
