"""Run a native tool as a filter: bytes in on stdin (optional), bytes out on stdout, no shell.

stdin is fed by a thread and stderr drained by another, so none of the three pipes can fill up
and stall the others; memory stays at a chunk per pipe. The tool gets the worker's environment
without its AWS credentials (scrubbed_env): it parses bytes from strangers and needs none.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from batch_job.errors import BadInput
from batch_job.transforms.base import Sink

logger = logging.getLogger(__name__)

READ_SIZE = 1024 * 1024
STDERR_LINES = 40
"""Lines of the tool's stderr kept for the error message."""
SECRET_PREFIXES = ("AWS_", "ECS_CONTAINER_METADATA_URI", "ECS_AGENT_URI")
"""Variables a child never gets: AWS keys and session tokens, the container credentials URIs
(AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI, AWS_CONTAINER_AUTHORIZATION_TOKEN), the
web identity token file, profiles, and the ECS metadata and agent endpoints. A tool exploited by
its input could otherwise read the job role's credentials from its own environment."""


def scrubbed_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a child process: everything but SECRET_PREFIXES (PATH, HOME, LANG,
    TMPDIR... stay, so tools behave as in a shell)."""
    env = os.environ if environ is None else environ
    return {
        name: value for name, value in env.items() if not name.upper().startswith(SECRET_PREFIXES)
    }


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
            env=scrubbed_env(),
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
