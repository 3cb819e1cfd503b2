"""What a ledger entry says of its version's job, in the job contract's terms."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conveyor.jobs import JobSpec


def spec_of(item: Mapping[str, Any]) -> JobSpec:
    """The spec of the entry's last job: the entry keeps every job parameter under its own name
    (the key as `object_key`), so a resubmission is the same job again."""
    return JobSpec.from_parameters({**item, "key": item["object_key"]})
