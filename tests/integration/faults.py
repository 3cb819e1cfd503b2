"""A fault-injecting proxy in front of the moto server: the request is applied, the answer is lost.

A matching request is forwarded (so moto applies it), then the client gets an AWS-shaped 500
instead of moto's answer, as if the response had been lost on the way back; botocore retries it.
That is the failure a conditional write must survive: its retry meets its own successful write.
Loopback only, one rule budget per test, stopped with the fixture.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "upgrade"}
)
DYNAMODB_ERROR = b'{"__type":"com.amazon.coral.service#InternalServerError","message":"lost"}'
S3_ERROR = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code>'
    b"<Message>We encountered an internal error. Please try again.</Message></Error>"
)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    """Header names in lower case."""
    body: bytes

    @property
    def dynamodb_target(self) -> str:
        return self.headers.get("x-amz-target", "").removeprefix("DynamoDB_20120810.")


@dataclass
class Rule:
    """Lose the response of the next `times` requests that `matches` accepts."""

    name: str
    matches: Callable[[Request], bool]
    times: int
    fired: int = 0


def dynamodb_conditional(operation: str) -> Callable[[Request], bool]:
    """A DynamoDB `operation` (PutItem, UpdateItem) that carries a ConditionExpression."""
    return lambda r: r.dynamodb_target == operation and b'"ConditionExpression"' in r.body


def s3_conditional_put(r: Request) -> bool:
    """PutObject with If-None-Match or If-Match (a conditional output commit)."""
    conditional = "if-none-match" in r.headers or "if-match" in r.headers
    return r.method == "PUT" and conditional and "x-amz-copy-source" not in r.headers


def s3_complete_multipart(r: Request) -> bool:
    return r.method == "POST" and "uploadId" in r.query


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        target = urlsplit(upstream)
        self._upstream = (target.hostname or "127.0.0.1", target.port or 80)
        self._rules: list[Rule] = []
        self._lock = threading.Lock()
        self.handled: list[tuple[str, str, int, bool]] = []
        """(method, path, moto's status, whether the answer was lost) per request."""
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def lose_response(self, name: str, matches: Callable[[Request], bool], times: int = 1) -> Rule:
        """From now on, apply the next `times` matching requests but answer them with a 500."""
        rule = Rule(name, matches, times)
        with self._lock:
            self._rules.append(rule)
        return rule

    def exchange(self, request: Request) -> tuple[bool, int, list[tuple[str, str]], bytes]:
        """Forward `request` to moto; whether its answer is to be lost, and moto's answer."""
        with self._lock:
            rule = next((r for r in self._rules if r.fired < r.times and r.matches(request)), None)
            if rule is not None:
                rule.fired += 1
        status, headers, body = self._forward(request)
        with self._lock:
            self.handled.append((request.method, request.path, status, rule is not None))
        return rule is not None, status, headers, body

    def _forward(self, request: Request) -> tuple[int, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPConnection(*self._upstream, timeout=60)
        try:
            headers = {k: v for k, v in request.headers.items() if k not in HOP_BY_HOP}
            headers.pop("expect", None)  # the proxy already read the whole body
            headers["content-length"] = str(len(request.body))
            connection.request(request.method, request.path, body=request.body, headers=headers)
            response = connection.getresponse()
            body = response.read()
            return response.status, response.getheaders(), body
        finally:
            connection.close()


@contextmanager
def fault_proxy(upstream: str) -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream).start()
    try:
        yield proxy
    finally:
        proxy.stop()


def _handler_for(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass  # one line per request is noise

        def _relay(self) -> None:
            request = Request(
                method=self.command,
                path=self.path,
                query=parse_qs(urlsplit(self.path).query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self._body(),
            )
            lost, status, headers, body = proxy.exchange(request)
            if lost:
                self._lose(request)
                return
            self.send_response(status)
            for name, value in headers:
                if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                    self.send_header(name, value)
            if self.command == "HEAD":
                length = dict((k.lower(), v) for k, v in headers).get("content-length", "0")
                self.send_header("Content-Length", length)
                self.end_headers()
                return
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _lose(self, request: Request) -> None:
            dynamodb = "x-amz-target" in request.headers
            body = DYNAMODB_ERROR if dynamodb else S3_ERROR
            self.send_response(500)
            self.send_header(
                "Content-Type", "application/x-amz-json-1.0" if dynamodb else "application/xml"
            )
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass  # trailers
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _relay

    return Handler
