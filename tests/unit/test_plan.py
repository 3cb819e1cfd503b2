"""The worker's plan without AWS: write, superseded, already written or refused, and the facts
the ledger gets."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from batch_job import transforms
from batch_job.archive import Archived
from batch_job.config import Job
from batch_job.errors import BadInput
from batch_job.plan import (
    Output,
    Staging,
    after_conflict,
    facts,
    output_name,
    plan,
    refuse_empty,
)
from batch_job.provenance import Decision, Provenance
from batch_job.source import Source
from batch_job.tree_runs import RUN_ID_LENGTH
from conveyor.jobs import JobSpec
from conveyor.objects import ObjectVersion

COPY = transforms.get("copy")
ALONE = Staging(newer=False, older=frozenset())
EMPTY = Output("out", "videos/clip.mov")


def source(version: str = "v2", key: str = "videos/clip.mov", size: int = 4_000_000) -> Source:
    return Source(
        bucket="staging",
        key=key,
        version_id=version,
        etag="etag-" + version,
        size=size,
        last_modified=datetime(2026, 1, 1, 0, 0, 2, tzinfo=UTC),
        checksums={},
        checksum_type=None,
    )


def job(template: str | None = None, job_id: str = "job-2", sequencer: str = "00AB") -> Job:
    version = ObjectVersion("staging", "videos/clip.mov", "etag-v2", 4_000_000, "v2", sequencer)
    return Job(JobSpec(version, "copy", template), job_id=job_id)


def written_by(version: str, key: str = "videos/clip.mov", job_id: str = "") -> Provenance:
    """An output's provenance: version vN, written while v1..vN-1 waited in staging."""
    older = frozenset(f"v{n}" for n in range(1, int(version[1:])))
    return Provenance(
        "staging",
        key,
        version,
        "etag-" + version,
        None,
        "2026-01-01T00:00:02.000Z",
        "copy",
        job_id,
        older_versions=older,
    )


def output(provenance: Provenance | None) -> Output:
    return Output("out", "videos/clip.mov", provenance, '"abc"' if provenance else None)


def test_an_empty_output_key_is_written_with_our_provenance() -> None:
    chosen = plan(job(), source(), COPY, Staging(newer=False, older=frozenset({"v1"})), EMPTY)
    assert chosen.decision is Decision.WRITE and chosen.transform is COPY
    assert chosen.output == EMPTY and chosen.output.etag is None  # commit: If-None-Match
    ours = chosen.ours
    assert (ours.key, ours.version_id, ours.etag) == ("videos/clip.mov", "v2", "etag-v2")
    assert (ours.sequencer, ours.job_id, ours.transform) == ("00AB", "job-2", "copy")
    assert ours.last_modified == "2026-01-01T00:00:02.000Z"
    assert ours.older_versions == frozenset({"v1"})


def test_a_newer_version_waiting_in_staging_supersedes_ours() -> None:
    waiting = Staging(newer=True, older=frozenset())
    assert plan(job(), source(), COPY, waiting, EMPTY).decision is Decision.SUPERSEDED


def test_an_output_from_a_newer_upload_supersedes_ours() -> None:
    ours = source("v1")
    chosen = plan(job(), ours, COPY, ALONE, output(written_by("v2")))
    assert chosen.decision is Decision.SUPERSEDED


def test_an_output_from_an_older_upload_is_replaced_on_its_etag() -> None:
    chosen = plan(job(), source("v2"), COPY, ALONE, output(written_by("v1")))
    assert chosen.decision is Decision.WRITE and chosen.output.etag == '"abc"'


def test_an_output_of_this_very_version_is_already_written() -> None:
    chosen = plan(job(), source("v2"), COPY, ALONE, output(written_by("v2")))
    assert chosen.decision is Decision.ALREADY_WRITTEN


def test_another_keys_output_is_refused_naming_both_keys() -> None:
    theirs = output(written_by("v9", key="videos/clip.mp4"))
    with pytest.raises(BadInput) as refused:
        plan(job(), source(), COPY, ALONE, theirs)
    assert "s3://out/videos/clip.mov" in str(refused.value)  # the output
    assert "s3://staging/videos/clip.mp4" in str(refused.value)  # who holds it


def test_an_empty_object_is_refused_and_the_template_names_the_output() -> None:
    with pytest.raises(BadInput, match="empty"):
        refuse_empty(source(size=0))
    refuse_empty(source(size=1))
    assert output_name(job(), source(), COPY) == "videos/clip.mov"
    assert output_name(job("{dir}/{stem}.bin"), source(), COPY) == "videos/clip.bin"
    video = transforms.get("h264-720p")
    assert output_name(job(), source(), video) == "videos/clip.mov.h264-720p.mp4"


def test_a_tree_output_whose_run_keys_would_pass_s3s_limit_is_refused_at_plan_time() -> None:
    """The master `<key>.hls/master.m3u8` fits S3's 1,024 bytes, yet its deepest object,
    `<key>.hls/<run id>/4320p/seg_00000.m4s`, would not: refused before any encoding."""
    hls = transforms.get("hls")
    deepest = len(".hls/") + RUN_ID_LENGTH + len("/4320p/seg_00000.m4s")
    fits = "v/" + "a" * (1024 - deepest - 2)
    assert output_name(job(), source(key=fits), hls) == fits + ".hls/master.m3u8"
    too_long = fits + "a"
    assert len((too_long + ".hls/master.m3u8").encode()) <= 1024  # the master alone would fit
    with pytest.raises(BadInput, match=r"4320p/seg_00000\.m4s.* 1025-byte keys.* 1024"):
        output_name(job(), source(key=too_long), hls)
    assert output_name(job(), source(key=too_long), COPY) == too_long  # one file: no run


@pytest.mark.parametrize(
    ("holds", "ends"),
    [
        (written_by("v1"), None),  # an older upload wrote meanwhile: commit again, on its ETag
        (written_by("v3"), Decision.SUPERSEDED),  # a newer one did: ours is dropped
        (written_by("v2", job_id="job-2"), Decision.WRITE),  # our own commit, its answer lost
        (written_by("v2", job_id="job-7"), Decision.ALREADY_WRITTEN),  # another run of ours
    ],
    ids=["older", "newer", "own-commit", "other-run"],
)
def test_after_a_refused_commit(holds: Provenance, ends: Decision | None) -> None:
    ours = plan(job(), source("v2"), COPY, ALONE, EMPTY).ours
    assert after_conflict(ours, output(holds)) is ends


def test_after_a_refused_commit_another_keys_output_is_refused() -> None:
    ours = plan(job(), source("v2"), COPY, ALONE, EMPTY).ours
    with pytest.raises(BadInput, match=r"videos/clip\.mp4"):
        after_conflict(ours, output(written_by("v9", key="videos/clip.mp4")))


ARCHIVED = Archived("archive", "videos/clip.mov", "a1", "etag-v2", 4_000_000)
METRICS = {"bytes_written": 3_000_000, "elapsed_s": 2.0}


def test_facts_of_a_written_output() -> None:
    recorded = facts(Decision.WRITE, source(), EMPTY, ARCHIVED, METRICS)
    assert recorded == {
        "outcome": "written",
        "output": {"bucket": "out", "key": "videos/clip.mov"},
        "archive": {"bucket": "archive", "key": "videos/clip.mov", "version_id": "a1"},
        "metrics": {
            "input_bytes": 4_000_000,
            "output_bytes": 3_000_000,
            "seconds": 2.0,
            "input_mb_per_s": 2.0,
        },
    }


def test_facts_name_no_output_for_a_superseded_version() -> None:
    superseded = facts(Decision.SUPERSEDED, source(), EMPTY, ARCHIVED, METRICS)
    assert superseded["outcome"] == "superseded" and "output" not in superseded
    already = facts(Decision.ALREADY_WRITTEN, source(), EMPTY, ARCHIVED, METRICS)
    assert already["outcome"] == "already written" and already["output"]["key"] == EMPTY.key
    unversioned = Archived("archive", "k", None, "e", 1)
    archive = facts(Decision.WRITE, source(), EMPTY, unversioned, METRICS)["archive"]
    assert archive["version_id"] == ""
