"""`python -m tests.integration.killed_upload N conveyor-upload-args...`: `conveyor upload`, killed
with SIGKILL just before it sends part N of a multipart upload, as a closed laptop would kill it.
The resume tests run it; production code holds no such hook."""

from __future__ import annotations

import os
import signal
import sys

from conveyor_cli.main import main
from conveyor_cli.uploads import send

if __name__ == "__main__":
    kill_at = int(sys.argv[1])
    real_part = send._part

    def part(*args: object) -> str:
        if args[4] >= kill_at:  # the part number
            os.kill(os.getpid(), signal.SIGKILL)
        return real_part(*args)  # type: ignore[arg-type]

    send._part = part  # type: ignore[assignment]
    sys.argv = ["conveyor", *sys.argv[2:]]
    main()
