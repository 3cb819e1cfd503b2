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
from conveyor.jobs import job_name, job_parameters
from conveyor.ledger.store import Ledger
from conveyor.objects import ObjectVersion
from conveyor.routing import Route, route
from conveyor.s3 import error_code
from conveyor.submission import submit
from trigger_lambda.config import TriggerConfig

logger = logging.getLogger(__name__)

NO_ROUTE = "no route"


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
        version = self.pin(version)
        chosen = forced or route(version.key, version.size, self.config.routes)
        if chosen is None:
            self.ledger.record_skipped(version, NO_ROUTE)
            logger.info("%s matches no route; left in staging", version.uri)
            return Outcome.SKIPPED
        claimed = self.ledger.claim(version, transform=chosen.transform)
        if claimed is None:
            logger.info("%s (%s) already has a job; nothing submitted", version.uri, version.ref)
            return Outcome.DUPLICATE
        try:
            job_id = submit(
                self.batch,
                self.ledger,
                parameters=job_parameters(version, chosen),
                job_name=job_name(version, chosen.transform),
                job_queue=chosen.job_queue or self.config.job_queue,
                job_definition=chosen.job_definition or self.config.job_definition,
                current=claimed,
            )
        except ClientError as err:
            code = error_code(err) or "error"
            self.ledger.release(claimed, f"SubmitJob failed: {code}")
            raise SubmitFailed(f"SubmitJob for {version.uri} failed: {code}") from err
        logger.info("submitted job %s for %s (%s)", job_id, version.uri, chosen.transform)
        return Outcome.SUBMITTED

    def pin(self, version: ObjectVersion) -> ObjectVersion:
        """Find the version id an event left out (moto, or a bucket without versioning).

        HeadObject with If-Match returns the current version only if it still has this ETag, so a
        newer upload is never mistaken for this one; without an answer the ETag identifies it.
        """
        if version.version_id:
            return version
        try:
            head = self.s3.head_object(
                Bucket=version.bucket, Key=version.key, IfMatch=f'"{version.etag}"'
            )
        except ClientError as err:
            status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status in (404, 412):
                return version
            raise
        return dataclasses.replace(version, version_id=head.get("VersionId"))
