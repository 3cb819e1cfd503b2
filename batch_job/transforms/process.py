"""Run a native tool as a filter: bytes in on stdin (optional), bytes out on stdout, no shell.

stdin is fed by a thread and stderr drained by another, so none of the three pipes can fill up
and stall the others; memory stays at a chunk per pipe.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from batch_job.errors import BadInput
from batch_job.transforms.base import Sink

logger = logging.getLogger(__name__)

READ_SIZE = 1024 * 1024
STDERR_LINES = 40
"""Lines of the tool's stderr kept for the error message."""


@dataclass
class Finished:
    returncode: int
    stderr_tail: str


def run_filter(
    argv: Sequence[str],
    sink: Sink,
    *,
    stdin: Iterable[bytes] | None = None,
    on_stderr: Callable[[str], bool] | None = None,
) -> Finished:
    """Run `argv`, stream its stdout into `sink`; `on_stderr` may consume a line (return True)."""
    try:
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except FileNotFoundError as err:
        raise BadInput(f"command not found: {argv[0]}") from err
    except PermissionError as err:
        raise BadInput(f"command not executable: {argv[0]}") from err
    tail: deque[str] = deque(maxlen=STDERR_LINES)
    feed_error: list[BaseException] = []
    threads = [threading.Thread(target=_drain, args=(process, tail, on_stderr), daemon=True)]
    if stdin is not None:
        threads.append(
            threading.Thread(target=_feed, args=(process, stdin, feed_error), daemon=True)
        )
    for thread in threads:
        thread.start()
    try:
        assert process.stdout is not None
        while data := process.stdout.read1(READ_SIZE):
            sink.write(data)
    except BaseException:
        process.kill()
        raise
    finally:
        process.stdout.close()
        returncode = process.wait()
        for thread in threads:
            thread.join()
    if feed_error:
        raise feed_error[0]
    return Finished(returncode, "\n".join(tail))


def _feed(
    process: subprocess.Popen[bytes], chunks: Iterable[bytes], errors: list[BaseException]
) -> None:
    assert process.stdin is not None
    try:
        for chunk in chunks:
            process.stdin.write(chunk)
    except BrokenPipeError:
        logger.info("%s stopped reading its input early", process.args)
    except BaseException as err:  # reported by run_filter, after the process is reaped
        errors.append(err)
        process.kill()
    finally:
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()


def _drain(
    process: subprocess.Popen[bytes],
    tail: deque[str],
    on_stderr: Callable[[str], bool] | None,
) -> None:
    assert process.stderr is not None
    for raw in process.stderr:
        line = raw.decode("utf-8", "replace").rstrip()
        if line and not (on_stderr and on_stderr(line)):
            tail.append(line)
    process.stderr.close()
