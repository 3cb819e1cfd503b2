"""Transforms, one module each, found by name; a job imports only its own transform's module, so
a copy job loads no video code.

Adding one: write a module with a class that has `name`, `output_template`, `content_type`,
`check(context)` and `apply(context, sink, checked)` (a transform with `writes_tree = True`
gets a batch_job.tree_upload.TreeUpload instead of a sink), and list it in `REGISTRY` below and its
name in `conveyor.routing.TRANSFORMS`, which routes and `conveyor reprocess` are checked against
(tests/unit/test_routing.py fails while the two differ).
"""

from __future__ import annotations

from functools import cache
from importlib import import_module
from typing import Any

from batch_job.errors import BadInput
from batch_job.transforms.base import Transform

REGISTRY: dict[str, tuple[str, dict[str, Any]]] = {
    "copy": ("copy:Copy", {}),
    "gzip": ("gzip:Gzip", {}),
    "command": ("command:Command", {}),
    "h264-720p": ("h264:H264", {"name": "h264-720p", "height": 720}),
    "h264-1080p": ("h264:H264", {"name": "h264-1080p", "height": 1080}),
    "hls": ("hls:Hls", {}),
}
"""Each transform's class, as `module:Class` in this package, and the arguments it is made with."""


@cache
def get(name: str) -> Transform[Any]:
    try:
        where, arguments = REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise BadInput(f"unknown transform {name!r}; known: {known}") from None
    module, _, cls = where.partition(":")
    transform: Transform[Any] = getattr(import_module(f"{__name__}.{module}"), cls)(**arguments)
    return transform
