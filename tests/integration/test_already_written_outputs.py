"""A job killed right after its output commit, run again, finds the output already written: the
ledger still gets every output that stands (the file, or the master and its run's objects), so
the ledger and the "Object Processed" event say what was written."""

from __future__ import annotations

import signal
from pathlib import Path

import m3u8

from batch_job.steps import Step
from conveyor_local.media import make_video
from tests.conftest import Stack
from tests.integration.hls_checks import OUTPUT, check_tree, read
from tests.integration.worker import ledger, record_running, run_worker, staging_has, upload


def test_a_file_found_written_is_recorded_with_its_size(stack: Stack) -> None:
    obj = upload(stack, "again/notes.txt", b"y" * 5000)
    record_running(stack, obj, "job-again")
    killed = run_worker(stack, obj, "gzip", job_id="job-again", crash_after=Step.OUTPUT_WRITTEN)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    again = run_worker(stack, obj, "gzip", job_id="job-again")
    assert again.returncode == 0, again.stderr[-2000:]
    [item] = ledger(stack).versions_of(stack.staging, obj.key)
    assert item["outcome"] == "already written"
    bucket = stack.settings[OUTPUT]
    head = stack.s3.head_object(Bucket=bucket, Key="again/notes.txt.gz")
    assert item["outputs"] == [
        {
            "bucket": bucket,
            "key": "again/notes.txt.gz",
            "role": "file",
            "bytes": head["ContentLength"],
        }
    ]
    assert not staging_has(stack, obj)


def test_an_hls_tree_found_written_lists_the_run_the_master_names(
    stack: Stack, tmp_path: Path
) -> None:
    clip = make_video(tmp_path / "c.mp4", width=854, height=480, seconds=8, faststart=True)
    obj = upload(stack, "again/clip.mp4", clip.read_bytes())
    record_running(stack, obj, "job-hls-again")
    killed = run_worker(
        stack, obj, "hls", job_id="job-hls-again", crash_after=Step.OUTPUT_WRITTEN, timeout=300
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    again = run_worker(stack, obj, "hls", job_id="job-hls-again", timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    master_key = "again/clip.mp4.hls/master.m3u8"
    tree = check_tree(stack, master_key)
    [item] = ledger(stack).versions_of(stack.staging, obj.key)
    assert item["outcome"] == "already written"
    found = item["outputs"]
    assert found[0] == {
        "bucket": stack.settings[OUTPUT],
        "key": master_key,
        "role": "master",
        "bytes": tree.keys[master_key]["Size"],
    }
    for output in found:
        assert tree.keys[output["key"]]["Size"] == output["bytes"]
    roles = [o["role"] for o in found]
    assert roles.count("playlist") == 2 and roles.count("poster") == 1
    assert roles.count("thumbnails") == 1 and roles.count("sprite") >= 1
    folder = master_key.rpartition("/")[0] + "/"
    master = m3u8.loads(read(stack, master_key).decode())
    for variant in master.playlists:
        [playlist] = [o for o in found if o["key"] == folder + variant.uri]
        info = variant.stream_info
        assert (playlist["width"], playlist["height"]) == info.resolution
        assert playlist["bandwidth"] == info.bandwidth
        assert playlist["average_bandwidth"] == info.average_bandwidth
        media = tree.media[playlist["height"]]
        base = (folder + variant.uri).rpartition("/")[0] + "/"
        assert playlist["segments"] == len(media.segments)
        assert playlist["segment_bytes"] == sum(
            tree.keys[base + s.uri]["Size"] for s in media.segments
        )
