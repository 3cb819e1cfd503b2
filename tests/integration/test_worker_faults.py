"""The worker's reads of the original when the network drops them or S3 answers 5xx: ffmpeg and
ffprobe read by HTTP from a presigned URL, and must resume where they were, not call a dropped
read a cut file (bad input) nor give up the job."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from conveyor_local.faults import Fault, FaultProxy, Request, fault_proxy
from conveyor_local.media import make_video
from tests.conftest import Stack
from tests.integration.worker import (
    archive_versions,
    get,
    log_lines,
    open_uploads,
    run_worker,
    staging_has,
    upload,
)

MiB = 1024 * 1024


class Script:
    """Successive faults for successive requests of one S3 object (None lets one through)."""

    def __init__(self, resource: str, faults: Sequence[Fault | None]) -> None:
        self.resource = resource
        self.left = list(faults)
        self._lock = threading.Lock()

    def decide(self, request: Request) -> Fault | None:
        if request.operation != "GetObject" or request.resource != self.resource:
            return None
        with self._lock:
            return self.left.pop(0) if self.left else None


@pytest.fixture
def proxy(moto_endpoint: str) -> Iterator[FaultProxy]:
    with fault_proxy(moto_endpoint) as running:
        yield running


def test_h264_reads_resume_after_resets_and_5xx(
    stack: Stack, proxy: FaultProxy, tmp_path: Path
) -> None:
    video = make_video(tmp_path / "end.mp4", width=320, height=180, seconds=2, faststart=False)
    obj = upload(stack, "faults/end.mp4", video.read_bytes())
    reset, error = Fault("reset", "after"), Fault("500", "before")
    script = Script(f"{stack.staging}/{obj.key}", [reset, None, error, reset, None, reset, error])
    proxy.add(script)

    result = run_worker(stack, obj, "h264-720p", env={"AWS_ENDPOINT_URL": proxy.url})

    assert result.returncode == 0, result.stderr[-3000:]
    assert not script.left  # every scripted fault met a read
    assert "finished: write" in [line["message"] for line in log_lines(result)]
    assert get(stack, "CONVEYOR_OUTPUT_BUCKET", f"{obj.key}.h264-720p.mp4")
    assert not staging_has(stack, obj)


def test_lost_create_multipart_answers_leave_no_upload_open(
    stack: Stack, proxy: FaultProxy
) -> None:
    """The output's and the archive copy's CreateMultipartUpload are applied, their answers lost,
    and botocore's retries create second uploads: the first ones must not stay open."""
    body = os.urandom(11 * MiB)  # three 5 MiB parts of output, three parts of archive copy
    obj = upload(stack, "faults/large.bin", body)
    lost = proxy.lose_response("create", lambda r: r.operation == "CreateMultipartUpload", 2)

    result = run_worker(
        stack,
        obj,
        env={
            "AWS_ENDPOINT_URL": proxy.url,
            "CONVEYOR_PART_SIZE": str(5 * MiB),
            "CONVEYOR_SINGLE_COPY_LIMIT": str(5 * MiB),
        },
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert lost.fired == 2
    assert proxy.calls("s3", "CreateMultipartUpload") == 4
    assert open_uploads(stack) == []
    assert get(stack, "CONVEYOR_OUTPUT_BUCKET", obj.key) == body
    [archived] = archive_versions(stack, obj.key)
    assert archived["ETag"].strip('"').endswith("-3")
    assert get(stack, "CONVEYOR_ARCHIVE_BUCKET", obj.key) == body
