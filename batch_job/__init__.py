"""The container worker: `python -m batch_job` streams, transforms, writes, archives a version."""
