"""The worker's two kinds of failure, and how every error maps to an exit code Batch acts on."""

from __future__ import annotations

import socket

from botocore.exceptions import (
    ClientError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)

from conveyor import jobs
from conveyor.errors import BadInput, ConveyorError
from conveyor.s3 import error_code

EXIT_DONE, EXIT_BAD_INPUT, EXIT_TRANSIENT, EXIT_BUG = (
    jobs.EXIT_DONE,
    jobs.EXIT_BAD_INPUT,
    jobs.EXIT_TRANSIENT,
    jobs.EXIT_BUG,
)
"""The job contract's exit codes (conveyor.jobs): the job definition retries only 75."""

TRANSIENT_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "RequestTimeout",
        "RequestTimeTooSkewed",
        "InternalError",
        "ServiceUnavailable",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
    }
)


class Transient(ConveyorError):
    """Retrying later may help."""


def exit_code(error: BaseException) -> int:
    if isinstance(error, BadInput):
        return EXIT_BAD_INPUT
    if is_transient(error):
        return EXIT_TRANSIENT
    return EXIT_BUG


def is_transient(error: BaseException) -> bool:
    if isinstance(error, Transient):
        return True
    if isinstance(error, ClientError):
        code = error_code(error)
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return code in TRANSIENT_CODES or status >= 500
    return isinstance(
        error,
        BotoConnectionError | ReadTimeoutError | ResponseStreamingError | socket.timeout,
    )
