"""Transforms, one module each, found by name.

Adding one: write a module with a class that has `name`, `output_template`, `content_type`,
`check(context)` and `apply(context, sink)`, and list an instance in `REGISTRY` below and its
name in `conveyor.routing.TRANSFORMS`, which routes and `conveyor reprocess` are checked against
(tests/unit/test_routing.py fails while the two differ).
"""

from __future__ import annotations

from batch_job.errors import BadInput
from batch_job.transforms.base import Transform
from batch_job.transforms.command import Command
from batch_job.transforms.copy import Copy
from batch_job.transforms.gzip import Gzip
from batch_job.transforms.h264 import H264

REGISTRY: dict[str, Transform] = {
    t.name: t
    for t in (
        Copy(),
        Gzip(),
        Command(),
        H264(name="h264-720p", height=720),
        H264(name="h264-1080p", height=1080),
    )
}


def get(name: str) -> Transform:
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise BadInput(f"unknown transform {name!r}; known: {known}") from None
