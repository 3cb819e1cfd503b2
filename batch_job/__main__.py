"""`python -m batch_job --bucket B --key K ...`: the command the container runs for one job.

Start-up and shutdown are on every job's critical path (ffmpeg starts only after them), so the
collector is paused while botocore builds its models (~30 ms) and the process exits without
tearing them down (~50 ms) once the logs are flushed.
"""

import gc
import logging
import os
import sys

gc.disable()  # re-enabled by batch_job.main once the clients are built

from batch_job.main import main  # noqa: E402  (after pausing the collector)

code = main()
logging.shutdown()
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
