"""`conveyor local up` end to end: a file that succeeds and one that fails each produce exactly one
event on moto's EventBridge, kept by the stack's rule, and `conveyor events` shows them."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from conveyor_local.media import make_video
from tests.integration.local import conveyor_env, output_of, stack_s3, start_local_up


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conveyor_cli", *args],
        capture_output=True,
        text=True,
        env=conveyor_env(home),  # another terminal: no settings at all
        timeout=60,
    )


def test_each_end_is_one_event_in_conveyor_events(tmp_path: Path) -> None:
    process, state = start_local_up(tmp_path)
    try:
        s3 = stack_s3(state)
        staging = state["settings"]["CONVEYOR_STAGING_BUCKET"]
        video = make_video(tmp_path / "clip.mov", width=320, height=180, seconds=1, faststart=True)
        s3.upload_file(str(video), staging, "in/good.mov")
        s3.put_object(Bucket=staging, Key="in/bad.mov", Body=b"this is no video at all")

        deadline = time.monotonic() + 120
        events: list[dict] = []
        while time.monotonic() < deadline:
            done = cli(tmp_path, "events", "--json")
            assert done.returncode == 0, done.stderr
            events = json.loads(done.stdout)
            if len(events) >= 2:
                break
            time.sleep(1)
        time.sleep(2)  # anything doubled would be there by now
        events = json.loads(cli(tmp_path, "events", "--json").stdout)
        by_key = {e["detail"]["key"]: e for e in events}
        assert sorted(by_key) == ["in/bad.mov", "in/good.mov"] and len(events) == 2, events

        good, bad = by_key["in/good.mov"], by_key["in/bad.mov"]
        jobs = {r["key"]: r for r in json.loads(cli(tmp_path, "jobs", "--json").stdout)}
        assert (good["source"], good["detail-type"]) == ("conveyor", "Object Processed")
        assert good["detail"]["status"] == "SUCCEEDED"
        assert good["detail"]["job_id"] == jobs["in/good.mov"]["job_id"]
        assert good["detail"]["bucket"] == staging
        assert good["detail"]["version_id"] == jobs["in/good.mov"]["version_id"]
        assert good["detail"]["output"]["key"] == "in/good.mov.h264-720p.mp4"
        assert good["detail"]["archive"]["bucket"] == state["settings"]["CONVEYOR_ARCHIVE_BUCKET"]
        assert (bad["detail-type"], bad["detail"]["status"]) == ("Object Failed", "FAILED")
        assert bad["detail"]["reason"] and bad["detail"]["output"] is None
        assert bad["detail"]["job_id"] == jobs["in/bad.mov"]["job_id"]

        table = cli(tmp_path, "events", "--key-prefix", "in/g")
        assert table.returncode == 0, table.stderr
        assert "in/good.mov" in table.stdout and "in/bad.mov" not in table.stdout
        assert "Object Processed" in table.stdout
        assert [
            e["detail"]["key"]
            for e in json.loads(cli(tmp_path, "events", "--json", "--limit", "1").stdout)
        ] == [events[0]["detail"]["key"]]

        wrong = cli(tmp_path, "events", "--since", "yesterday-ish")
        assert wrong.returncode == 1 and wrong.stderr.startswith("error: not a duration")
        assert wrong.stderr.count("\n") == 1, wrong.stderr
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    assert process.returncode == 0, output_of(tmp_path)
