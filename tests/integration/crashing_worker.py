"""`python -m tests.integration.crashing_worker STEP --bucket B --key K ...`: the worker's own
entry point, killed with SIGKILL as soon as STEP ends, as a reclaimed Spot instance would kill it.
The crash tests run it; production code holds no such hook."""

from __future__ import annotations

import logging
import os
import signal
import sys

from batch_job.main import main
from batch_job.steps import AfterStep, Step


def crash_after(step: Step) -> AfterStep:
    def after_step(ended: Step) -> None:
        if ended is step:
            logging.getLogger(__name__).warning("killing the worker after %s", step.value)
            os.kill(os.getpid(), signal.SIGKILL)

    return after_step


if __name__ == "__main__":
    sys.exit(main(sys.argv[2:], after_step=crash_after(Step(sys.argv[1]))))
