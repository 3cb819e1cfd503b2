"""What the plan is decided from: the key's versions in staging and what the output key holds."""

from __future__ import annotations

import logging
from typing import Any

from batch_job import plan, transforms
from batch_job.config import Job, WorkerConfig
from batch_job.errors import Transient
from batch_job.provenance import Provenance
from batch_job.source import Source
from batch_job.tree_runs import RUN_METADATA
from conveyor.s3 import head_or_none, versions_of_key

logger = logging.getLogger(__name__)


def look(s3: Any, config: WorkerConfig, job: Job, source: Source) -> plan.Plan:
    """Read what the decision needs, then decide (batch_job.plan)."""
    plan.refuse_empty(source)
    transform = transforms.get(job.spec.transform)
    key = plan.output_name(job, source, transform)
    chosen = plan.plan(
        job,
        source,
        transform,
        staging=staging_order(s3, source),
        output=find_output(s3, config.output_bucket, key),
    )
    logger.info("output %s: %s", chosen.output.uri, chosen.decision.value)
    return chosen


def staging_order(s3: Any, source: Source) -> plan.Staging:
    """Whether a newer version of the key waits in staging (its job will own the output), and
    which versions there are older than ours, in the bucket's own order (newest first).

    Without versioning staging holds one version, ours (locate found it): nothing either way.
    """
    if not source.version_id:
        return plan.Staging(newer=False, older=frozenset())
    listed = [v["VersionId"] for v in versions_of_key(s3, source.bucket, source.key)]
    if source.version_id not in listed:
        raise Transient(f"version {source.version_id} of {source.key} left staging while we looked")
    position = listed.index(source.version_id)
    return plan.Staging(newer=position > 0, older=frozenset(listed[position + 1 :]))


def find_output(s3: Any, bucket: str, key: str) -> plan.Output:
    """What the output key holds now: its provenance and ETag, or nothing."""
    head = head_or_none(s3, Bucket=bucket, Key=key)
    if head is None:
        return plan.Output(bucket, key)
    # An object Conveyor did not write has no provenance: ours replaces it, on the ETag condition.
    metadata = head.get("Metadata", {})
    run = {k.lower(): v for k, v in metadata.items()}.get(RUN_METADATA)
    provenance = Provenance.from_metadata(metadata)
    return plan.Output(bucket, key, provenance, head["ETag"], run, head.get("ContentLength"))
