"""One object version in, at most one Batch job out.

Order of work: pin the version, route it, claim it in the ledger, SubmitJob, record SUBMITTED.
The claim makes duplicate deliveries harmless; releasing it when SubmitJob fails lets the retry
of the same message submit.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

from conveyor.errors import SubmitFailed
from conveyor.events.s3 import ParsedMessage
from conveyor.jobs import JobSpec
from conveyor.ledger.store import Ledger
from conveyor.manifest import RESERVED_PREFIX
from conveyor.objects import ObjectVersion, normalize_etag
from conveyor.routing import Route, route
from conveyor.s3 import error_code, versions_of_key
from conveyor.submission import submit
from trigger_lambda.config import TriggerConfig

logger = logging.getLogger(__name__)

NO_ROUTE = "no route"
RESERVED = f"keys under {RESERVED_PREFIX} are reserved (array jobs' manifests live there)"
"""Such an original would be archived where the manifests are, and never be reprocessed."""


class Outcome(StrEnum):
    SUBMITTED = "submitted"
    DUPLICATE = "duplicate"
    SKIPPED = "skipped"


@dataclass
class Trigger:
    config: TriggerConfig
    ledger: Ledger
    batch: Any
    s3: Any

    def handle_message(self, message: ParsedMessage) -> list[Outcome]:
        """Every version of a message is tried; if any failed, raise after the others were done."""
        for reason in message.ignored:
            logger.info("ignored: %s", reason)
        outcomes, failures = [], []
        for version in message.versions:
            try:
                outcomes.append(self.handle(version))
            except Exception as err:
                logger.exception("could not submit %s", version.uri)
                failures.append(err)
        if failures:
            raise failures[0]
        return outcomes

    def handle(self, version: ObjectVersion, *, forced: Route | None = None) -> Outcome:
        """Route (or take `forced`), claim, submit; duplicates and unrouted versions submit none."""
        candidates = self.versions_named_by(version)
        reserved = version.key.startswith(RESERVED_PREFIX)
        chosen = (
            None if reserved else forced or route(version.key, version.size, self.config.routes)
        )
        if chosen is None:
            reason = RESERVED if reserved else NO_ROUTE
            for candidate in candidates:
                if self.ledger.record_skipped(candidate, reason):
                    break
            logger.info("%s: %s; left in staging", version.uri, reason)
            return Outcome.SKIPPED
        for candidate in candidates:
            claimed = self.ledger.claim(candidate, transform=chosen.transform)
            if claimed is not None:
                self._submit(JobSpec.for_route(candidate, chosen), chosen, claimed)
                return Outcome.SUBMITTED
        logger.info("%s (%s) already has a job; nothing submitted", version.uri, version.ref)
        return Outcome.DUPLICATE

    def _submit(self, spec: JobSpec, chosen: Route, claimed: dict[str, Any]) -> None:
        version = spec.version
        try:
            job_id = submit(
                self.batch,
                self.ledger,
                spec,
                job_queue=chosen.job_queue or self.config.job_queue,
                job_definition=chosen.job_definition or self.config.job_definition,
                current=claimed,
            )
        except ClientError as err:
            code = error_code(err) or "error"
            self.ledger.release(claimed, f"SubmitJob failed: {code}")
            raise SubmitFailed(f"SubmitJob for {version.uri} failed: {code}") from err
        logger.info(
            "submitted job %s for %s version %s (%s)",
            job_id,
            version.uri,
            version.version_id,
            chosen.transform,
        )

    def versions_named_by(self, version: ObjectVersion) -> list[ObjectVersion]:
        """The versions an event may stand for, oldest first: itself when it names its version.

        Events without a version id (moto; some resubmissions) name the ETag: the key's versions
        with that ETag are found in the bucket's listing (newest first, whatever LastModified
        says), never by "the current version", which a newer upload may already be. Several
        versions with one ETag hold the same bytes; each message claims the oldest not yet
        claimed, so each gets its job. With no match (the version is gone, or the bucket keeps no
        versions) the ETag alone identifies it, and the worker says what became of it.
        """
        if version.version_id:
            return [version]
        listed = versions_of_key(self.s3, version.bucket, version.key)
        matching = [
            dataclasses.replace(version, version_id=v["VersionId"], size=int(v["Size"]))
            for v in reversed(listed)
            if normalize_etag(v["ETag"]) == version.etag
        ]
        return matching or [version]
