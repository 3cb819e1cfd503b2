"""`python tests/integration/recording_worker.py --record DIR [--fail 1,4] [--transient 2]`: a
stand-in for the worker that the local executor runs as it runs `python -m batch_job`, for the
executor's own tests. It writes what it was given (its Batch environment and argv) to
DIR/<job id>.<attempt>.json and exits 65 for the array indexes in --fail, 75 on the first attempt
of those in --transient, else 0. Only the standard library: it starts fast."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

BATCH_VARIABLES = ("AWS_BATCH_JOB_ID", "AWS_BATCH_JOB_ARRAY_INDEX", "AWS_BATCH_JOB_ATTEMPT")


def indexes(text: str) -> set[str]:
    return {part for part in text.split(",") if part}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--record", required=True)
    parser.add_argument("--fail", default="")
    parser.add_argument("--transient", default="")
    args = parser.parse_args(argv)
    env = {name: os.environ.get(name) for name in BATCH_VARIABLES}
    run = {"env": env, "argv": argv}
    name = f"{env['AWS_BATCH_JOB_ID']}.{env['AWS_BATCH_JOB_ATTEMPT']}.json"
    Path(args.record, name).write_text(json.dumps(run))
    index = env["AWS_BATCH_JOB_ARRAY_INDEX"] or ""
    if index in indexes(args.fail):
        return 65
    if index in indexes(args.transient) and env["AWS_BATCH_JOB_ATTEMPT"] == "1":
        return 75
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
