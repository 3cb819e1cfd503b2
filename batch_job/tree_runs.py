"""Run directories of an output that is a tree (an `hls` master playlist and what it references).

Each run writes its objects under `<master dir>/<run id>/` and commits the master last; the
master's metadata names its run and the run it replaced. Whatever run a job ends with, what is no
longer referenced is removed: the run the current master replaced, and this version's other runs
(killed earlier attempts). Another version's run is never touched otherwise: its job may be
writing it now, and may yet commit.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Iterable
from typing import Any

from conveyor.metadata import PREFIX
from conveyor.s3 import head_or_none

logger = logging.getLogger(__name__)

RUN_METADATA = PREFIX + "hls-run"
"""On the master: the run directory it references."""
REPLACED_METADATA = PREFIX + "hls-replaced"
"""On the master: the run directory of the master it replaced, removed by whoever tidies next
(so a job killed right after its commit still has it removed by its re-run)."""
RUN_ID_LENGTH = len("r-") + 16 + 1 + 12 + 1 + 8
METADATA_BYTES = len(RUN_METADATA) + len(REPLACED_METADATA) + 2 * RUN_ID_LENGTH
"""What a master's metadata holds beyond its provenance, kept free of S3's 2 KB."""
RUN_ID = re.compile(r"r-[0-9a-f]{16}-[0-9a-f]{12}-[0-9a-f]{8}")


def version_prefix(key: str, version: str) -> str:
    """What every run id of one version of `key` starts with (`version`: its id, or its ETag)."""
    k = hashlib.sha256(key.encode()).hexdigest()[:16]
    v = hashlib.sha256(version.encode()).hexdigest()[:12]
    return f"r-{k}-{v}-"


def new_run_id(key: str, version: str) -> str:
    return version_prefix(key, version) + secrets.token_hex(4)


def tree_dir(master_key: str) -> str:
    """The master's folder, where run directories live (`""` at the bucket's top)."""
    folder, slash, _ = master_key.rpartition("/")
    return folder + slash


def doomed_runs(
    runs: Iterable[str], *, ours: str, current: str | None, replaced: str | None
) -> set[str]:
    """The run directories to remove: this version's (`ours`: its prefix) but the one the master
    references (`current`), and the run the current master replaced."""
    found = set(runs)
    doomed = {run for run in found if run.startswith(ours) and run != current}
    if replaced and replaced != current and replaced in found:
        doomed.add(replaced)
    return doomed


def tidy(s3: Any, bucket: str, master_key: str, source_key: str, version: str) -> set[str]:
    """Remove what doomed_runs names, as the master stands now; returns the runs removed."""
    head = head_or_none(s3, Bucket=bucket, Key=master_key)
    metadata = {k.lower(): v for k, v in (head or {}).get("Metadata", {}).items()}
    ours = version_prefix(source_key, version)
    replaced = metadata.get(REPLACED_METADATA)
    # Only this version's runs are listed (a folder may hold many videos' runs); the replaced
    # run is named on the master.
    runs = list_runs(s3, bucket, tree_dir(master_key), ours)
    doomed = doomed_runs(
        [*runs, *([replaced] if replaced and RUN_ID.fullmatch(replaced) else [])],
        ours=ours,
        current=metadata.get(RUN_METADATA),
        replaced=replaced,
    )
    for run in sorted(doomed):
        removed = delete_prefix(s3, bucket, tree_dir(master_key) + run + "/")
        logger.info("removed run %s (%d objects), referenced by no master", run, removed)
    return doomed


def list_runs(s3: Any, bucket: str, folder: str, starting: str = "") -> list[str]:
    """The run directories in `folder` whose names start with `starting`."""
    runs = []
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=folder + starting, Delimiter="/"
    ):
        for common in page.get("CommonPrefixes", []):
            name = common["Prefix"][len(folder) :].rstrip("/")
            if RUN_ID.fullmatch(name):
                runs.append(name)
    return runs


def delete_prefix(s3: Any, bucket: str, prefix: str) -> int:
    """Delete every object under `prefix`, a thousand a request; returns how many."""
    removed = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
            removed += len(keys)
    return removed
