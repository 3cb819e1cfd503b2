"""A fault-injecting proxy in front of the moto server, for tests and `conveyor local up`:
a seeded share of each service's requests fails as AWS fails (500, 503, throttling, a reset
connection), before or after moto applied them."""

from conveyor_local.faults.answers import KINDS, Answer, error_answer
from conveyor_local.faults.matchers import (
    dynamodb_conditional,
    s3_complete_multipart,
    s3_conditional_put,
)
from conveyor_local.faults.proxy import FaultProxy, Handled, fault_proxy
from conveyor_local.faults.report import summary_table
from conveyor_local.faults.request import Request
from conveyor_local.faults.rules import (
    SERVICES,
    WHEN,
    Fault,
    Faults,
    LoseResponse,
    Rule,
    Throttle,
    TokenBucket,
    seeded_fault,
)

__all__ = [
    "KINDS",
    "SERVICES",
    "WHEN",
    "Answer",
    "Fault",
    "FaultProxy",
    "Faults",
    "Handled",
    "LoseResponse",
    "Request",
    "Rule",
    "Throttle",
    "TokenBucket",
    "dynamodb_conditional",
    "error_answer",
    "fault_proxy",
    "s3_complete_multipart",
    "s3_conditional_put",
    "seeded_fault",
    "summary_table",
]
