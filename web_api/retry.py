"""`POST /files/{id}/retry`: a new job for a failed file, by the rules of `conveyor resubmit`."""

from __future__ import annotations

from conveyor.errors import InProgress
from conveyor.operations import refusal
from conveyor.s3 import holds_version
from conveyor.submission import resubmit
from web_api.auth import User
from web_api.errors import Conflict
from web_api.factory import Services
from web_api.files import find
from web_api.views import seen


def retry(user: User, file_id: str, services: Services) -> str:
    """The new job's id; Conflict with the reason when the file's newest version cannot be
    resubmitted (not FAILED, or its original no longer in staging); NotFound if not theirs."""
    found = find(user, file_id, services)
    entry = found.newest
    if entry is None or not seen(entry, found.entries, found.staged):
        raise Conflict("it is not submitted yet, not FAILED")  # as refusal() says it
    in_staging = holds_version(services.s3, entry.bucket, entry.key, entry.version_id, entry.etag)
    reason = refusal(entry, in_staging)
    if reason:
        raise Conflict(reason)
    config = services.config
    try:
        return resubmit(
            services.batch,
            services.ledger,
            entry,
            job_queue=config.job_queue,
            job_definition=config.job_definition,
            reason=f"resubmission of job {entry.job_id} from the web page by {user.username}",
        )
    except InProgress as err:
        raise Conflict("a retry of this file is already under way") from err
