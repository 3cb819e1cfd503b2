"""Array jobs' events: a child names its version only through the manifest its parent was given
(record `array_index`); the parent itself works on no version."""

from __future__ import annotations

from dataclasses import replace

from conveyor.events.batch import JobStateChange
from conveyor.manifest import ManifestError, ManifestReader


def resolve_child(change: JobStateChange, manifests: ManifestReader) -> JobStateChange:
    """The child's change with its own version's parameters, from manifest record
    `array_index` (two range GETs, the header cached per manifest). An ordinary job's change
    comes back as it is. An unreadable manifest raises (ManifestError, or S3's error), so the
    event is retried and, after the retries, reconcile puts the entry right."""
    if change.manifest is None or change.array_index is None:
        return change
    parameters = manifests.record(change.manifest, change.array_index)
    if parameters.get("manifest"):
        raise ManifestError(f"record {change.array_index} of {change.manifest} is an array job")
    return replace(change, parameters=parameters)
