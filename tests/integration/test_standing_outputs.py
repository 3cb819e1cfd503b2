"""standing_outputs against the local S3: the outputs of this version's earlier run, read where
the plan found them or, when the commit found them, again; none once another version's stand."""

from __future__ import annotations

from batch_job.plan import Output, Plan
from batch_job.provenance import Decision, Provenance
from batch_job.standing import standing_outputs
from batch_job.transforms import get
from batch_job.tree_runs import RUN_METADATA
from tests.conftest import Stack
from tests.integration.hls_checks import OUTPUT
from tests.unit.test_hls_outputs import MASTER, RUN

KEY = "standing/a.mp4.hls/master.m3u8"


def provenance(version: str) -> Provenance:
    return Provenance("staging", "standing/a.mp4", version, "etag-" + version, None, "x", "hls")


def put_tree(stack: Stack, version: str) -> None:
    bucket = stack.settings[OUTPUT]
    for name, body in (("360p/index.m3u8", b"#EXTM3U\n"), ("360p/seg_00000.m4s", b"s" * 7)):
        stack.s3.put_object(Bucket=bucket, Key=f"standing/a.mp4.hls/{RUN}/{name}", Body=body)
    metadata = {**provenance(version).metadata(), RUN_METADATA: RUN}
    stack.s3.put_object(Bucket=bucket, Key=KEY, Body=MASTER.encode(), Metadata=metadata)


def test_found_at_the_commit_the_tree_is_read_again(stack: Stack) -> None:
    bucket = stack.settings[OUTPUT]
    put_tree(stack, "v1")
    # The plan saw nothing (it would have written); the commit found v1's own master there.
    chosen = Plan(Decision.WRITE, get("hls"), Output(bucket, KEY), provenance("v1"))
    master, playlist = standing_outputs(stack.s3, chosen)
    assert master == {"bucket": bucket, "key": KEY, "role": "master", "bytes": len(MASTER)}
    assert playlist["key"] == f"standing/a.mp4.hls/{RUN}/360p/index.m3u8"
    assert (playlist["segments"], playlist["segment_bytes"]) == (1, 7)
    assert playlist["bandwidth"] == 900_000  # from the master's EXT-X-STREAM-INF


def test_another_versions_output_is_not_ours_to_list(stack: Stack) -> None:
    bucket = stack.settings[OUTPUT]
    put_tree(stack, "v2")
    chosen = Plan(Decision.WRITE, get("hls"), Output(bucket, KEY), provenance("v1"))
    assert standing_outputs(stack.s3, chosen) == []
