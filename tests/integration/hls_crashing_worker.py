"""`python -m tests.integration.hls_crashing_worker STEP N --bucket B ...`: the worker killed with
SIGKILL when STEP ends for the N-th time (e.g. after the 3rd object of an hls run is put)."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading

from batch_job.main import main
from batch_job.steps import AfterStep, Step


def crash_at(step: Step, count: int) -> AfterStep:
    seen = [0]
    lock = threading.Lock()

    def after_step(ended: Step) -> None:
        if ended is not step:
            return
        with lock:
            seen[0] += 1
            if seen[0] == count:
                logging.getLogger(__name__).warning("killing the worker at %s #%d", step, count)
                os.kill(os.getpid(), signal.SIGKILL)

    return after_step


if __name__ == "__main__":
    sys.exit(main(sys.argv[3:], after_step=crash_at(Step(sys.argv[1]), int(sys.argv[2]))))
