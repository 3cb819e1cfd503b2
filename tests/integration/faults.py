"""The fault-injecting proxy now lives in conveyor_local.faults (the local stack uses it too);
kept as the name this suite's tests import it by."""

from conveyor_local.faults import (
    FaultProxy,
    Faults,
    LoseResponse,
    Request,
    Throttle,
    dynamodb_conditional,
    fault_proxy,
    s3_complete_multipart,
    s3_conditional_put,
)

__all__ = [
    "FaultProxy",
    "Faults",
    "LoseResponse",
    "Request",
    "Throttle",
    "dynamodb_conditional",
    "fault_proxy",
    "s3_complete_multipart",
    "s3_conditional_put",
]
