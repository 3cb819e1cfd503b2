"""An hls job killed anywhere and run again, and two versions of one key in either order,
converge: one master, referencing one complete run directory, nothing else left beside it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from batch_job.steps import Step
from batch_job.tree_runs import version_prefix
from conveyor.jobs import COMMAND, JobSpec, command_line
from conveyor.objects import ObjectVersion
from conveyor_local.media import make_video
from tests.conftest import Stack
from tests.integration.faults import fault_proxy, s3_conditional_put
from tests.integration.hls_checks import check_tree, listing
from tests.integration.worker import (
    ROOT,
    Uploaded,
    archive_versions,
    log_lines,
    run_worker,
    staging_has,
    upload,
)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """480p, 10 s: two renditions (480p, 360p) of two segments each."""
    folder = tmp_path_factory.mktemp("hls-crash")
    return make_video(
        folder / "c.mp4", width=854, height=480, seconds=10, faststart=True
    ).read_bytes()


def crash(stack: Stack, obj: Uploaded, step: Step, count: int) -> subprocess.CompletedProcess[str]:
    version = ObjectVersion(stack.staging, obj.key, obj.etag, len(obj.body), obj.version_id, None)
    parameters = JobSpec(version, "hls").parameters()
    command = [
        sys.executable,
        "-m",
        "tests.integration.hls_crashing_worker",
        step.value,
        str(count),
        *command_line(COMMAND, parameters),
    ]
    return subprocess.run(
        command, capture_output=True, text=True, env=dict(os.environ), timeout=300, cwd=ROOT
    )


KILLS = [
    (Step.OBJECT_PUT, 1),
    (Step.OBJECT_PUT, 4),  # mid-stream: some segments of each rendition are up
    (Step.PLAYLISTS_WRITTEN, 1),  # every object is up but the master
    (Step.OUTPUT_WRITTEN, 1),  # the master is committed; the archive copy may be running
    (Step.ARCHIVED, 1),  # after the archive copy, before the original leaves staging
]


@pytest.mark.parametrize(("step", "count"), KILLS, ids=[f"{s}-{n}" for s, n in KILLS])
def test_killed_then_run_again_converges(stack: Stack, clip: bytes, step: Step, count: int) -> None:
    obj = upload(stack, f"crash/{step}-{count}.mp4", clip)
    master_key = f"{obj.key}.hls/master.m3u8"
    crashed = crash(stack, obj, step, count)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]
    left = listing(stack, f"{obj.key}.hls/")
    assert left, "the crash came after something was written"
    if step in (Step.OBJECT_PUT, Step.PLAYLISTS_WRITTEN):
        assert master_key not in left  # no player sees a partial run
    again = run_worker(stack, obj, "hls", timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    tree = check_tree(stack, master_key)  # one run directory, complete, nothing else
    assert tree.run.startswith(version_prefix(obj.key, obj.version_id))
    assert sorted(tree.media) == [360, 480]
    assert not staging_has(stack, obj) and len(archive_versions(stack, obj.key)) == 1


def test_newest_wins_in_either_order(stack: Stack, clip: bytes, tmp_path: Path) -> None:
    other = make_video(tmp_path / "o.mp4", width=640, height=360, seconds=7, faststart=True)
    # Older first: the newer upload's job replaces the master, and the old run is removed.
    old = upload(stack, "order/a.mp4", clip)
    assert run_worker(stack, old, "hls", timeout=300).returncode == 0
    first = check_tree(stack, "order/a.mp4.hls/master.m3u8")
    time.sleep(1.1)
    new = upload(stack, "order/a.mp4", other.read_bytes())
    assert run_worker(stack, new, "hls", timeout=300).returncode == 0
    tree = check_tree(stack, "order/a.mp4.hls/master.m3u8")
    assert tree.head["Metadata"]["conveyor-source-version-id"] == new.version_id
    assert tree.run != first.run and sorted(tree.media) == [360]

    # Newer first: the older upload's job finds itself superseded and leaves nothing behind.
    old = upload(stack, "order/b.mp4", clip)
    new = upload(stack, "order/b.mp4", other.read_bytes())
    assert (
        run_worker(stack, new, "hls", sequencer="0055AED6DCD90281E6", timeout=300).returncode == 0
    )
    late = run_worker(stack, old, "hls", sequencer="0055AED6DCD90281E5", timeout=300)
    assert late.returncode == 0, late.stderr[-3000:]
    tree = check_tree(stack, "order/b.mp4.hls/master.m3u8")
    assert tree.head["Metadata"]["conveyor-source-version-id"] == new.version_id


def test_master_commit_whose_answer_was_lost_keeps_its_run(
    stack: Stack, clip: bytes, moto_endpoint: str
) -> None:
    """The retry of the master's conditional put meets this job's own master: the run it
    references is this run's, so it stays (and is not taken for a failed one and deleted)."""
    obj = upload(stack, "lost/clip.mp4", clip)
    with fault_proxy(moto_endpoint) as proxy:
        rule = proxy.lose_response("PutObject", s3_conditional_put)
        env = {"AWS_ENDPOINT_URL": proxy.url}
        result = run_worker(stack, obj, "hls", env=env, job_id="job-lost", timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert rule.fired == 1
    assert "finished: write" in [line["message"] for line in log_lines(result)]
    check_tree(stack, "lost/clip.mp4.hls/master.m3u8")


def test_killed_right_after_replacing_a_master_still_removes_the_old_run(
    stack: Stack, clip: bytes, tmp_path: Path
) -> None:
    """The master names the run it replaced: the re-run, which finds its master already written,
    removes that run too."""
    old = upload(stack, "replace/a.mp4", clip)
    assert run_worker(stack, old, "hls", timeout=300).returncode == 0
    before = check_tree(stack, "replace/a.mp4.hls/master.m3u8")
    time.sleep(1.1)
    other = make_video(tmp_path / "o.mp4", width=640, height=360, seconds=7, faststart=True)
    new = upload(stack, "replace/a.mp4", other.read_bytes())
    crashed = crash(stack, new, Step.OUTPUT_WRITTEN, 1)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]
    keys = listing(stack, "replace/a.mp4.hls/")
    assert any(k.startswith(f"replace/a.mp4.hls/{before.run}/") for k in keys)  # not yet removed
    again = run_worker(stack, new, "hls", timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    tree = check_tree(stack, "replace/a.mp4.hls/master.m3u8")  # the old run is gone
    assert tree.head["Metadata"]["conveyor-hls-replaced"] == before.run
