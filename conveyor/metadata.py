"""S3 user-metadata names Conveyor writes on outputs, which the worker writes and the operator
commands read (which upload an output came from)."""

from __future__ import annotations

PREFIX = "conveyor-"
OUTPUT_SOURCE_VERSION = PREFIX + "source-version-id"
"""On an output: the staging version it was made from."""
