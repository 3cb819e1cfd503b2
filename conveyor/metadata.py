"""S3 user-metadata names Conveyor writes on outputs and archive copies: the worker writes them,
the operator commands read them (which upload an output or a copy came from)."""

from __future__ import annotations

PREFIX = "conveyor-"
SOURCE_PREFIX = PREFIX + "source-"
"""What every name describing the source upload starts with (a copy back to staging drops them)."""
SOURCE_VERSION = SOURCE_PREFIX + "version-id"
"""On an output or an archive copy: the staging version it was made from."""
SOURCE_ETAG = SOURCE_PREFIX + "etag"
"""Likewise its ETag (all that names a version in a bucket without versioning)."""
