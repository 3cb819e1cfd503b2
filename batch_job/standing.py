"""What stands in the output when a job finds it already written by an earlier run of its version
(killed after its commit, before it recorded): the ledger's `outputs`, so the ledger and the
"Object Processed" event still say what was written. The reads are here; which role each object
has is the transform's (a tree's `describe_run`, batch_job.transforms.hls.outputs)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from batch_job.lookup import find_output
from batch_job.plan import Output, Plan
from batch_job.provenance import Decision
from batch_job.tree_runs import tree_dir
from conveyor.s3 import MISSING, PRECONDITION_FAILED, error_code


def standing_outputs(s3: Any, chosen: Plan) -> list[dict[str, Any]]:
    """For a job that ends ALREADY_WRITTEN: the output as the plan found it, or, when that was
    decided at the commit, as it stands now; nothing if it no longer holds this version's."""
    output = chosen.output
    if chosen.decision is not Decision.ALREADY_WRITTEN:
        output = find_output(s3, output.bucket, output.key)
    if output.size is None or output.provenance is None:
        return []
    if not output.provenance.same_version(chosen.ours):
        return []  # replaced meanwhile: what stands is another version's
    describe = getattr(chosen.transform, "describe_run", None)
    if describe is None:
        return [_entry(output, "file")]
    master = _entry(output, "master")
    if not output.run:
        return [master]
    folder = tree_dir(output.key)
    listing = run_listing(s3, output.bucket, f"{folder}{output.run}/")
    described: list[dict[str, Any]] = describe(
        output.bucket, folder, output.run, listing, read_master(s3, output)
    )
    return [master, *described]


def run_listing(s3: Any, bucket: str, prefix: str) -> list[tuple[str, int]]:
    """Every object under `prefix`: its name below it and its size."""
    found = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found += [(o["Key"][len(prefix) :], o["Size"]) for o in page.get("Contents", [])]
    return found


def read_master(s3: Any, output: Output) -> str | None:
    """The master playlist's text (small), if it is still the one the plan found."""
    try:
        response = s3.get_object(Bucket=output.bucket, Key=output.key, IfMatch=output.etag)
    except ClientError as err:
        if error_code(err) in PRECONDITION_FAILED or error_code(err) in MISSING:
            return None
        raise
    return str(response["Body"].read().decode("utf-8", errors="replace"))


def _entry(output: Output, role: str) -> dict[str, Any]:
    return {"bucket": output.bucket, "key": output.key, "role": role, "bytes": output.size}
