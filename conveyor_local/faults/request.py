"""One request as the proxy saw it, with the AWS service and operation it is for."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from conveyor_local.faults.detect import operation_of, resource_of, service_of


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    """The request target: path and query string, as sent."""
    query: dict[str, list[str]]
    headers: dict[str, str]
    """Header names in lower case."""
    body: bytes
    service: str = field(default="other")
    """"s3", "sqs", "dynamodb", "batch", "sts", "cognito-idp", "iam" or "other"."""
    operation: str = field(default="")
    """The API operation, e.g. "PutItem", "GetObject", "SubmitJob"; "" when unknown."""
    resource: str = field(default="")
    """What the request is about where the path says it (an S3 bucket/key), else ""."""

    @classmethod
    def of(cls, method: str, target: str, headers: dict[str, str], body: bytes) -> Request:
        """Parse a request: `headers` in any case, `target` the path with its query string."""
        lower = {k.lower(): v for k, v in headers.items()}
        split = urlsplit(target)
        query = parse_qs(split.query, keep_blank_values=True)
        service = service_of(split.path, query, lower)
        form = {}  # the query protocol (STS, IAM) names its Action in a form body
        if lower.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        return cls(
            method=method,
            path=target,
            query=query,
            headers=lower,
            body=body,
            service=service,
            operation=operation_of(service, method, split.path, {**query, **form}, lower),
            resource=resource_of(service, split.path),
        )

    @property
    def dynamodb_target(self) -> str:
        return self.headers.get("x-amz-target", "").removeprefix("DynamoDB_20120810.")
