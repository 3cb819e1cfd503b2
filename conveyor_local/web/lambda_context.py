"""The Lambda context object the API's handler gets locally: the attributes AWS's has (Powertools'
logger reads some), with one invocation's request id and a 29 s deadline, API Gateway's limit."""

from __future__ import annotations

import time
from dataclasses import dataclass

from conveyor_local.web.event import ACCOUNT_ID

FUNCTION_NAME = "conveyor-web-api"
TIMEOUT_SECONDS = 29.0


@dataclass(frozen=True)
class LambdaContext:
    aws_request_id: str
    deadline: float
    function_name: str = FUNCTION_NAME
    function_version: str = "$LATEST"
    invoked_function_arn: str = f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:{FUNCTION_NAME}"
    memory_limit_in_mb: int = 512
    log_group_name: str = f"/aws/lambda/{FUNCTION_NAME}"
    log_stream_name: str = "local"

    @classmethod
    def for_request(cls, request_id: str) -> LambdaContext:
        return cls(aws_request_id=request_id, deadline=time.monotonic() + TIMEOUT_SECONDS)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))
