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
from batch_job.config import Job, WorkerConfig
from batch_job.run import run
from conveyor.aws import clients
from conveyor.ledger.store import Ledger

logger = logging.getLogger("batch_job")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m batch_job", description=__doc__)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--version-id", default="")
    parser.add_argument("--etag", default="")
    parser.add_argument("--sequencer", default="")
    parser.add_argument("--transform", default="copy")
    parser.add_argument("--output-key", default="", help="template, e.g. {dir}/{stem}.mp4")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    job = Job(
        bucket=args.bucket,
        key=args.key,
        version_id=args.version_id or None,
        etag=args.etag or None,
        sequencer=args.sequencer or None,
        transform=args.transform,
        output_template=args.output_key or None,
        job_id=os.environ.get("AWS_BATCH_JOB_ID", ""),
        attempt=int(os.environ.get("AWS_BATCH_JOB_ATTEMPT", "1") or 1),
    )
    logs.configure({"job_id": job.job_id, "key": job.key, "transform": job.transform})
    try:
        config = WorkerConfig.from_env()
        s3, dynamodb = clients("s3", "dynamodb")
        ledger = Ledger(dynamodb, config.ledger_table) if config.ledger_table else None
        _start_up_done()
        outcome = run(job, config, s3, ledger)
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


def _start_up_done() -> None:
    """Imports and clients live for the whole run: move them out of the collector's way
    (`python -m batch_job` starts with collection paused, see batch_job.__main__)."""
    gc.freeze()
    gc.enable()
