"""Property tests of the worker's newest-wins decision (issue 13, DESIGN.md invariants 4 and 7)
over random version histories of one key, with no AWS.

A history is a key's versions in upload order: version ids, S3 event sequencers of differing
lengths (some jobs have none: submitted in bulk, not from an event), LastModified with ties (S3
keeps seconds). Uploads and the jobs' steps interleave in any order hypothesis picks: a job looks
(staging's listing, the output's provenance; `lookup.staging_order`, `plan.plan`), commits its
output on the ETag it saw (re-deciding with `plan.after_conflict` when another job got there
first, or when its own commit's response was lost), maybe crashes and runs again, and deletes its
version from staging. The output's provenance goes through its S3 metadata and back.

The reference is DESIGN.md's rule, written here from scratch: versions of one key are ordered by
sequencer when both have one (right-pad the shorter with zeros, compare as strings), else by the
bucket's own version order (newest first in its listing).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from batch_job import transforms
from batch_job.config import Job
from batch_job.lookup import staging_order
from batch_job.plan import Output, after_conflict, plan
from batch_job.provenance import Decision, Provenance
from batch_job.source import Source
from conveyor.jobs import JobSpec
from conveyor.objects import ObjectVersion, compare_sequencers

BUCKET = "staging"
KEY = "videos/clip.mov"
SIBLING = KEY + ".part"
"""A key that KEY prefixes: its versions follow KEY's in the listing (the worker skips them)."""
COPY = transforms.get("copy")
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Version:
    index: int
    """Upload order: the truth the reference must recover from what the workers can see."""
    version_id: str
    sequencer: str | None
    """What the version's job was given; None for a job submitted without its S3 event."""
    last_modified: datetime


def newer(a: Version, b: Version) -> bool:
    """DESIGN.md's rule: sequencers if both have one, else the bucket's own order."""
    if a.sequencer and b.sequencer:
        width = max(len(a.sequencer), len(b.sequencer))
        return a.sequencer.ljust(width, "0") > b.sequencer.ljust(width, "0")
    return a.index > b.index


# --- strategies --------------------------------------------------------------------------------

HEX = "0123456789ABCDEF"


@st.composite
def histories(draw: st.DrawFn) -> list[Version]:
    """Versions of KEY in upload order, their sequencers rising as S3's do (under padding)."""
    count = draw(st.integers(1, 6))
    raw = draw(
        st.lists(
            st.text(HEX, min_size=1, max_size=20).filter(lambda s: s.rstrip("0")),
            min_size=count,
            max_size=count,
            unique_by=lambda s: s.rstrip("0"),  # equal once padded: one event, not two
        )
    )
    width = max(map(len, raw))
    rising = sorted(raw, key=lambda s: s.ljust(width, "0"))
    ids = draw(
        st.lists(
            st.text(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._",
                min_size=32,
                max_size=32,
            ),
            min_size=count,
            max_size=count,
            unique=True,
        )
    )
    seconds = 0
    versions = []
    for index in range(count):
        seconds += draw(st.sampled_from([0, 0, 1, 7]))  # ties: several uploads in one second
        with_event = draw(st.integers(0, 3)) > 0
        versions.append(
            Version(
                index,
                ids[index],
                rising[index] if with_event else None,
                EPOCH + timedelta(seconds=seconds),
            )
        )
    return versions


# --- a key's staging, its output, and the jobs -------------------------------------------------


class Listing:
    """ListObjectVersions for the fake S3: KEY's versions newest first, then SIBLING's, in pages."""

    def __init__(self, world: World) -> None:
        self._world = world

    def paginate(self, *, Bucket: str, Prefix: str) -> list[dict[str, Any]]:
        assert (Bucket, Prefix) == (BUCKET, KEY)
        present = sorted(self._world.staging, key=lambda v: -v.index)
        rows = [{"Key": KEY, "VersionId": v.version_id} for v in present]
        rows += [{"Key": SIBLING, "VersionId": f"sibling-{n}"} for n in range(2)]
        size = self._world.page_size
        return [{"Versions": rows[i : i + size]} for i in range(0, len(rows), size)]


@dataclass
class Stored:
    """What the output key holds: the metadata S3 returns, and an ETag per write."""

    metadata: dict[str, str]
    etag: str
    version: Version
    job_id: str


@dataclass
class Run:
    """One job's progress: its plan once it looked, and how it ended."""

    version: Version
    job: Job
    phase: str = "look"
    chosen: Any = None
    seen: Output | None = None
    lost_response: bool = False
    decisions: list[Decision] = field(default_factory=list)


@dataclass
class World:
    versions: list[Version]
    page_size: int
    uploaded: int = 0
    staging: set[Version] = field(default_factory=set)
    output: Stored | None = None
    writes: int = 0
    runs: dict[int, Run] = field(default_factory=dict)
    written: list[Version] = field(default_factory=list)
    """Every version whose output was committed, in commit order."""

    def get_paginator(self, name: str) -> Listing:
        assert name == "list_object_versions"
        return Listing(self)

    # --- what the worker sees

    def output_now(self) -> Output:
        if self.output is None:
            return Output("out", KEY)
        provenance = Provenance.from_metadata(self.output.metadata)
        return Output("out", KEY, provenance, self.output.etag)

    def source(self, v: Version) -> Source:
        return Source(BUCKET, KEY, v.version_id, f"etag-{v.index}", 10, v.last_modified, {}, None)

    # --- steps

    def upload(self) -> None:
        version = self.versions[self.uploaded]
        self.uploaded += 1
        self.staging.add(version)
        self.runs[version.index] = Run(version, job_for(version))

    def look(self, run: Run) -> None:
        v = run.version
        seen = self.output_now()
        chosen = plan(run.job, self.source(v), COPY, staging_order(self, self.source(v)), seen)
        expected = reference_plan(v, self.staging, self.output)
        assert chosen.decision is expected, f"{v} looked: {chosen.decision} not {expected}"
        run.chosen, run.seen = chosen, seen
        run.phase = "commit" if chosen.decision is Decision.WRITE else "delete"
        run.decisions.append(chosen.decision)

    def commit(self, run: Run, lose_response: bool) -> None:
        """The commit on the ETag the job saw (If-None-Match when it saw nothing)."""
        assert run.seen is not None
        if (self.output.etag if self.output else None) == run.seen.etag:
            self.writes += 1
            metadata = run.chosen.ours.metadata()
            self.output = Stored(metadata, f'"w{self.writes}"', run.version, run.job.job_id)
            self.written.append(run.version)
            if not lose_response:
                run.phase = "delete"
                return
        # Refused (or its success unheard): decide again on what the output holds now.
        now = self.output_now()
        ended = after_conflict(run.chosen.ours, now)
        expected = reference_after_conflict(run, self.output)
        assert ended == expected, f"{run.version} after a conflict: {ended} not {expected}"
        if ended is None:
            run.seen = now
            return
        run.decisions[-1] = ended
        run.phase = "delete"

    def crash(self, run: Run, resubmitted: bool) -> None:
        """Killed before deleting (Spot reclaimed): Batch runs the job again from the start; or
        the job FAILED (exit 75 too often) and the operator resubmitted it: a new job id."""
        run.phase = "look"
        if resubmitted:
            run.job = replace(run.job, job_id=run.job.job_id + "-again")

    def delete(self, run: Run) -> None:
        self.staging.discard(run.version)
        run.phase = "done"


def job_for(v: Version) -> Job:
    """The one job of a version, as Batch gives it to the worker."""
    version = ObjectVersion(BUCKET, KEY, f"etag-{v.index}", 10, v.version_id, v.sequencer)
    return Job(JobSpec(version, "copy"), job_id=f"job-{v.index}")


def reference_plan(ours: Version, staging: set[Version], output: Stored | None) -> Decision:
    if output is not None and output.version == ours:
        return Decision.ALREADY_WRITTEN
    if any(newer(v, ours) for v in staging):
        return Decision.SUPERSEDED
    if output is not None and not newer(ours, output.version):
        return Decision.SUPERSEDED
    return Decision.WRITE


def reference_after_conflict(run: Run, output: Stored | None) -> Decision | None:
    """None: commit again. A commit of our own whose response was lost counts as written."""
    assert output is not None
    if output.version == run.version:
        return Decision.WRITE if output.job_id == run.job.job_id else Decision.ALREADY_WRITTEN
    return None if newer(run.version, output.version) else Decision.SUPERSEDED


def play(world: World, data: st.DataObject) -> None:
    """Play the history out, in an order hypothesis picks, to the end."""
    crashes = 0
    while True:
        moves: list[tuple[str, Run | None]] = []
        if world.uploaded < len(world.versions):
            moves.append(("upload", None))
        for run in world.runs.values():
            if run.phase == "done":
                continue
            moves.append((run.phase, run))
            if run.phase == "commit":
                moves.append(("commit, response lost", run))
            if run.phase in ("commit", "delete") and crashes < 3:
                moves += [("crash", run), ("crash, resubmitted", run)]
        if not moves:
            return
        move, run = data.draw(st.sampled_from(moves))
        if move == "upload":
            world.upload()
            continue
        assert run is not None
        if move == "look":
            world.look(run)
        elif move.startswith("commit"):
            world.commit(run, lose_response=move != "commit")
        elif move.startswith("crash"):
            crashes += 1
            world.crash(run, resubmitted=move != "crash")
        else:
            world.delete(run)


# --- properties ------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.text(HEX, min_size=1, max_size=20), st.data())
def test_sequencers_compare_as_the_design_says(a: str, data: st.DataObject) -> None:
    """`compare_sequencers` is DESIGN.md's rule, also for lengths that differ and for two that
    are equal once padded (one event delivered twice, with and without trailing zeros)."""
    b = data.draw(
        st.one_of(
            st.text(HEX, min_size=1, max_size=20),
            st.integers(0, 4).map(lambda n: a + "0" * n),
            st.integers(1, len(a)).map(lambda n: a[:n]),
        )
    )
    width = max(len(a), len(b))
    left, right = a.ljust(width, "0"), b.ljust(width, "0")
    assert compare_sequencers(a, b) == (left > right) - (left < right)
    versions = [Version(0, "v0", a, EPOCH), Version(1, "v1", b, EPOCH)]
    assert newer(versions[0], versions[1]) == (compare_sequencers(a, b) > 0)


@settings(max_examples=120, deadline=None)
@given(histories(), st.integers(1, 4), st.data())
def test_every_decision_is_the_reference_one_and_the_newest_wins(
    versions: list[Version], page_size: int, data: st.DataObject
) -> None:
    """Each look and each re-decision after a conflict matches the reference (asserted as the
    world plays out); at the end the output holds the newest version, whatever order the jobs
    ran in, and no commit ever replaced a newer version's output."""
    world = World(versions, page_size)
    play(world, data)
    newest = versions[-1]
    assert world.output is not None and world.output.version == newest
    assert not world.staging
    for before, after in zip(world.written, world.written[1:], strict=False):
        assert after == before or newer(after, before), "an older version replaced a newer one"
    assert world.runs[newest.index].decisions[-1] is not Decision.SUPERSEDED


@settings(max_examples=80, deadline=None)
@given(histories(), st.data())
def test_exactly_one_version_is_newest_whatever_the_order_jobs_look(
    versions: list[Version], data: st.DataObject
) -> None:
    """With every version waiting in staging and nothing written, the jobs may look in any
    order: exactly one decides to write, the newest."""
    world = World(versions, page_size=data.draw(st.integers(1, 4)))
    for _ in versions:
        world.upload()
    order = data.draw(st.permutations(list(world.runs.values())))
    for run in order:
        world.look(run)
    writers = [run.version for run in order if run.decisions[-1] is Decision.WRITE]
    assert writers == [versions[-1]]


@settings(max_examples=80, deadline=None)
@given(histories(), st.data())
def test_an_output_from_before_provenance_listed_older_versions_never_lets_an_older_win(
    versions: list[Version], data: st.DataObject
) -> None:
    """Outputs written before `source-older-versions` existed (or whose list did not fit in the
    metadata) fall back to LastModified: on a tie the output stays, so an older version never
    wins, though a newer one uploaded in the same second without a sequencer cannot either."""
    world = World(versions, page_size=1)
    writer = data.draw(st.sampled_from(versions))
    legacy = Provenance(
        BUCKET,
        KEY,
        writer.version_id,
        f"etag-{writer.index}",
        writer.sequencer,
        writer.last_modified.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "copy",
        f"job-{writer.index}",
    )
    world.output = Stored(legacy.metadata(), '"legacy"', writer, legacy.job_id)
    read_back = world.output_now().provenance
    assert read_back is not None and read_back.older_versions is None
    for v in versions:
        if v == writer:
            continue
        world.staging = {v}  # alone in staging: only the output's provenance decides
        chosen = plan(
            job_for(v),
            world.source(v),
            COPY,
            staging_order(world, world.source(v)),
            world.output_now(),
        )
        if chosen.decision is Decision.WRITE:
            assert newer(v, writer)
        elif newer(v, writer):  # the only newer version kept out: a tie nothing can break
            assert not (v.sequencer and writer.sequencer)
            assert v.last_modified == writer.last_modified
