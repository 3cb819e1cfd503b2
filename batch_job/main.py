"""The worker's entry point: parse the job, build the clients, run it, turn errors into exit codes.

Exit codes: 0 done (or superseded), 65 bad input (never retried), 75 transient (retried),
anything else a bug.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os

from batch_job import errors, logs
from batch_job.array_child import child_spec
from batch_job.config import JOB_ID, Job, WorkerConfig
from batch_job.run import run
from batch_job.steps import AfterStep, no_faults
from conveyor.aws import clients
from conveyor.errors import BadEvent
from conveyor.jobs import PARAMETERS, JobSpec
from conveyor.ledger.store import Ledger

logger = logging.getLogger("batch_job")


HELP = {
    "transform": "default: copy",
    "output_key": "template, e.g. {dir}/{stem}.mp4",
    "argv": 'the command transform\'s command line as JSON, e.g. ["xz", "-c"]',
}


def parse_args(argv: list[str] | None = None) -> JobSpec | str:
    """The job's parameters, one flag each (the job definition's command), as its spec; for an
    array job's child, the manifest URI its spec is in (batch_job.array_child)."""
    parser = argparse.ArgumentParser(prog="python -m batch_job", description=__doc__)
    for name in PARAMETERS:
        parser.add_argument(
            f"--{name.replace('_', '-')}",
            dest=name,
            required=name in ("bucket", "key"),
            default="",
            help=HELP.get(name),
        )
    parameters = vars(parser.parse_args(argv))
    if parameters["manifest"]:
        return str(parameters["manifest"])
    return JobSpec.from_parameters(parameters)


def main(argv: list[str] | None = None, *, after_step: AfterStep = no_faults) -> int:
    """Run one job and return its exit code; `after_step` is for the crash tests only."""
    try:
        given = parse_args(argv)
    except BadEvent as err:
        logs.configure({})
        logger.error("bad input: %s", err)
        return errors.EXIT_BAD_INPUT
    job_id = os.environ.get(JOB_ID, "")
    logs.configure({"job_id": job_id, **_context(given)})
    try:
        config = WorkerConfig.from_env()
        s3, dynamodb = clients("s3", "dynamodb")
        if isinstance(given, str):  # an array job's child: its spec is in the manifest
            given = child_spec(s3, given, os.environ)
            logs.configure({"job_id": job_id, **_context(given)})
        job = Job.from_env(given)
        ledger = Ledger(dynamodb, config.ledger_table) if config.ledger_table else None
        _start_up_done()
        outcome = run(job, config, s3, ledger, after_step=after_step)
    except Exception as err:
        code = errors.exit_code(err)
        if code == errors.EXIT_BUG:
            logger.exception("worker failed: %s", err)
        else:
            logger.error(
                "%s: %s", "bad input" if code == errors.EXIT_BAD_INPUT else "transient", err
            )
        return code
    logger.info("finished: %s", outcome.decision)
    return errors.EXIT_DONE


def _context(given: JobSpec | str) -> dict[str, str]:
    """What every log line says of the job: its key and transform, or its manifest."""
    if isinstance(given, str):
        return {"manifest": given}
    return {"key": given.version.key, "transform": given.transform}


def _start_up_done() -> None:
    """Imports and clients live for the whole run: move them out of the collector's way
    (`python -m batch_job` starts with collection paused, see batch_job.__main__)."""
    gc.freeze()
    gc.enable()
