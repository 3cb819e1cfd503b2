"""`command`: any native tool as a stdin -> stdout filter, its argv given by the route (no shell).

Route example: `{"match": "*.txt", "transform": "command", "argv": ["xz", "-6", "-c"],
"output_key": "{key}.xz"}`.
"""

from __future__ import annotations

from concurrent.futures import Future

from batch_job.errors import BadInput
from batch_job.transforms.base import Context, Sink
from batch_job.transforms.process import run_filter


class Command:
    name = "command"
    output_template = "{key}.out"
    content_type = "application/octet-stream"

    def check(self, context: Context) -> list[str]:
        """The command line to run: a job without one is refused before anything is read."""
        if not context.argv:
            raise BadInput(
                "transform 'command' needs an 'argv' list: give its route one (CONVEYOR_ROUTES)"
            )
        return list(context.argv)

    def apply(self, context: Context, sink: Sink, checked: Future[list[str]]) -> None:
        argv = checked.result()  # at once: the check only reads the job's spec
        finished = run_filter(argv, sink, stdin=context.open_stream())
        if finished.returncode != 0:
            raise BadInput(
                f"{argv[0]} exited with {finished.returncode}: {finished.stderr_tail[-500:]}"
            )
