"""An HTTP proxy between the components and the moto server that injects faults on the wire.

Each request is parsed into a `Request` (service, operation), the rules are asked in order, and
the first fault wins: "before" answers without reaching moto; "after" forwards (moto applies the
request) and replaces moto's answer. A "reset" sends the status line, the headers with the full
Content-Length and part of the body, then resets the connection (RST), as a network drop does.
Loopback only; one thread per connection, keep-alive as botocore's pool expects.
"""

from __future__ import annotations

import http.client
import io
import socket
import struct
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from conveyor_local.faults.answers import Answer, error_answer
from conveyor_local.faults.request import Request
from conveyor_local.faults.rules import Fault, LoseResponse, Rule

HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "upgrade"}
)
UPSTREAM_TIMEOUT = 120.0
RESET = struct.pack("ii", 1, 0)
"""SO_LINGER on, zero seconds: close() sends RST instead of FIN."""


LOG_LIMIT = 100_000
"""Requests remembered (newest), for tests that look at what reached moto; bodies are not kept."""


@dataclass(frozen=True)
class Handled:
    """One request: what it was, what moto answered (None: it never reached moto), the fault."""

    method: str
    path: str
    service: str
    operation: str
    upstream_status: int | None
    fault: Fault | None


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a client's idle keep-alive connection never holds up a stop
    request_queue_size = 128  # a burst of new connections (a worker's part uploads) waits


class FaultProxy:
    def __init__(self, upstream: str, rules: Sequence[Rule] = (), port: int = 0) -> None:
        """Bind 127.0.0.1:`port` (0: any free one; OSError if it cannot); `start` serves it."""
        target = urlsplit(upstream)
        self._upstream = (target.hostname or "127.0.0.1", target.port or 80)
        self._rules: list[Rule] = list(rules)
        self._lock = threading.Lock()
        self._log: deque[Handled] = deque(maxlen=LOG_LIMIT)
        self._calls: Counter[tuple[str, str]] = Counter()
        self._faults: Counter[tuple[str, str]] = Counter()
        self._server = _Server(("127.0.0.1", port), _handler_for(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fault-proxy", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def add(self, rule: Rule) -> Rule:
        """Ask `rule` too, after the rules already there, from the next request on."""
        with self._lock:
            self._rules.append(rule)
        return rule

    def lose_response(
        self, name: str, matches: Callable[[Request], bool], times: int = 1
    ) -> LoseResponse:
        """From now on, apply the next `times` matching requests but answer them with a 500."""
        rule = LoseResponse(name, matches, times)
        self.add(rule)
        return rule

    # --- what happened ------------------------------------------------------------------------

    def calls(self, service: str | None = None, operation: str | None = None) -> int:
        """Requests seen (faulted or not), of `service` and `operation` when named."""
        with self._lock:
            return sum(
                n
                for (s, o), n in self._calls.items()
                if service in (None, s) and operation in (None, o)
            )

    def faults(self, service: str | None = None, kind: str | None = None) -> int:
        """Faults injected, of `service` and `kind` when named."""
        with self._lock:
            return sum(
                n
                for (s, k), n in self._faults.items()
                if service in (None, s) and kind in (None, k)
            )

    def summary(self) -> dict[str, dict[str, Any]]:
        """{service: {"requests": n, "faults": {kind: n}}} for every service seen."""
        with self._lock:
            out: dict[str, dict[str, Any]] = {}
            for (service, _), n in sorted(self._calls.items()):
                entry = out.setdefault(service, {"requests": 0, "faults": {}})
                entry["requests"] += n
            for (service, kind), n in sorted(self._faults.items()):
                out[service]["faults"][kind] = n
            return out

    @property
    def log(self) -> list[Handled]:
        with self._lock:
            return list(self._log)

    @property
    def handled(self) -> list[tuple[str, str, int | None, bool]]:
        """(method, path, moto's status or None, whether a fault replaced it) per request."""
        return [(h.method, h.path, h.upstream_status, h.fault is not None) for h in self.log]

    # --- the handler's side -------------------------------------------------------------------

    def decide(self, request: Request) -> Fault | None:
        with self._lock:
            rules = list(self._rules)
        for rule in rules:
            fault = rule.decide(request)
            if fault is not None:
                return fault
        return None

    def record(self, request: Request, upstream_status: int | None, fault: Fault | None) -> None:
        with self._lock:
            self._calls[request.service, request.operation] += 1
            if fault is not None:
                self._faults[request.service, fault.kind] += 1
            self._log.append(
                Handled(
                    request.method,
                    request.path,
                    request.service,
                    request.operation,
                    upstream_status,
                    fault,
                )
            )

    def forward(self, request: Request) -> Answer:
        """moto's answer to `request`."""
        connection = http.client.HTTPConnection(*self._upstream, timeout=UPSTREAM_TIMEOUT)
        try:
            headers = {k: v for k, v in request.headers.items() if k not in HOP_BY_HOP}
            headers.pop("expect", None)  # the proxy already read the whole body
            headers["content-length"] = str(len(request.body))
            connection.request(request.method, request.path, body=request.body, headers=headers)
            response = connection.getresponse()
            body = response.read()
            return Answer(response.status, tuple(response.getheaders()), body)
        finally:
            connection.close()


@contextmanager
def fault_proxy(upstream: str, rules: Sequence[Rule] = ()) -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream, rules).start()
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
            request = Request.of(self.command, self.path, dict(self.headers.items()), self._body())
            fault = proxy.decide(request)
            if fault is not None and fault.when == "before":
                proxy.record(request, None, fault)
                if fault.kind == "reset":
                    self._reset()
                else:
                    self._send(error_answer(request, fault.kind, fault.variant))
                return
            try:
                answer = proxy.forward(request)
            except OSError as err:
                proxy.record(request, None, None)
                self._send(Answer(502, (("Content-Type", "text/plain"),), str(err).encode()))
                return
            proxy.record(request, answer.status, fault)
            if fault is None:
                self._send(answer)
            elif fault.kind == "reset":
                self._send(answer, cut=True)
            else:
                self._send(error_answer(request, fault.kind, fault.variant))

        def _send(self, answer: Answer, cut: bool = False) -> None:
            """Send `answer`; with `cut`, only part of it (half its body, or of its head when
            it has no body), then reset the connection."""
            length = str(len(answer.body))
            lines = [f"HTTP/1.1 {answer.status} {http.client.responses.get(answer.status, '')}"]
            for name, value in answer.headers:
                lower = name.lower()
                if lower == "content-length" and self.command == "HEAD":
                    length = value  # a HEAD answer's length is the object's
                elif lower not in HOP_BY_HOP and lower != "content-length":
                    lines.append(f"{name}: {value}")
            lines.append(f"Content-Length: {length}")
            head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
            body = b"" if self.command == "HEAD" else answer.body
            if not cut:
                self.wfile.write(head + body)
                return
            self.wfile.write(head + body[: len(body) // 2] if body else head[: len(head) // 2])
            self._reset()

        def _reset(self) -> None:
            """Reset the connection: RST, not FIN, so the client sees a broken read."""
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET)
            self.close_connection = True
            self.rfile.close()
            self.wfile.close()
            self.connection.close()  # the last reference: the descriptor closes, with RST
            self.rfile, self.wfile = io.BytesIO(), io.BytesIO()  # what `finish` flushes

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

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_OPTIONS = do_PATCH = _relay

    return Handler
