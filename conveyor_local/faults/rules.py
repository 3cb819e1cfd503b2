"""What decides that a request fails, and how: rules the proxy asks in order, the first fault
answered wins.

`Faults` fails a seeded share of each service's requests. Its decision is a pure function of the
seed and the request's place (service, operation, S3 resource, and how many such requests came
before it), so the same seed fails the same requests of a client that sends them in the same
order; concurrent clients interleave differently, which moves faults between their requests but
keeps each operation's fault sequence.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from conveyor_local.faults.answers import KINDS
from conveyor_local.faults.request import Request

WHEN = ("before", "after")
"""Before: the request never reaches moto. After: moto applied it, and its answer is replaced."""
SERVICES = ("s3", "sqs", "dynamodb", "batch")


@dataclass(frozen=True)
class Fault:
    kind: str
    """One of answers.KINDS: "500", "503", "throttle", "reset"."""
    when: str
    """"before" or "after"."""
    variant: int = 0
    """Which of a service's throttling errors (DynamoDB has two)."""


class Rule(Protocol):
    def decide(self, request: Request) -> Fault | None:
        """The fault to inject for `request`, or None to let it through."""
        ...


def seeded_fault(
    seed: int, share: float, kinds: Sequence[str], when: Sequence[str], place: str
) -> Fault | None:
    """Whether the request at `place` fails (with probability `share`), and how: a pure function."""
    digest = hashlib.blake2b(f"{seed}\x00{place}".encode(), digest_size=16).digest()
    draw = int.from_bytes(digest[:8], "big") / 2**64
    if draw >= share:
        return None
    return Fault(
        kind=kinds[digest[8] % len(kinds)],
        when=when[digest[9] % len(when)],
        variant=digest[10],
    )


@dataclass
class Faults:
    """A seeded `share` of each named service's requests fails with one of `kinds`, `when`."""

    share: Mapping[str, float] = field(default_factory=lambda: dict.fromkeys(SERVICES, 0.1))
    seed: int = 0
    kinds: Sequence[str] = KINDS
    when: Sequence[str] = WHEN
    _seen: Counter[str] = field(default_factory=Counter, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        unknown = (set(self.kinds) - set(KINDS)) | (set(self.when) - set(WHEN))
        if unknown or not self.kinds or not self.when:
            raise ValueError(f"faults: unknown kinds or times {sorted(unknown)}")

    def decide(self, request: Request) -> Fault | None:
        share = self.share.get(request.service, 0.0)
        if share <= 0:
            return None
        key = f"{request.service}\x00{request.operation}\x00{request.resource}"
        with self._lock:
            self._seen[key] += 1
            ordinal = self._seen[key]
        return seeded_fault(self.seed, share, self.kinds, self.when, f"{key}\x00{ordinal}")


class TokenBucket:
    """`rate` tokens a second, at most `capacity` saved up; `clock` is injectable for tests."""

    def __init__(
        self, rate: float, capacity: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError("a token bucket needs a positive rate and room for one token")
        self._rate = rate
        self._capacity = capacity
        self._clock = clock
        self._tokens = capacity
        self._at = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        """Take a token if there is one."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self._capacity, self._tokens + (now - self._at) * self._rate)
            self._at = now
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True


class Throttle:
    """Requests of `service` (and `operation`, if named) above `per_second` (bursts up to `burst`)
    are answered with the service's throttling error, before they reach moto."""

    def __init__(
        self,
        service: str,
        operation: str | None = None,
        per_second: float = 50.0,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.service = service
        self.operation = operation
        self._bucket = TokenBucket(per_second, burst if burst is not None else per_second, clock)

    def decide(self, request: Request) -> Fault | None:
        if request.service != self.service:
            return None
        if self.operation is not None and request.operation != self.operation:
            return None
        return None if self._bucket.take() else Fault("throttle", "before")


@dataclass
class LoseResponse:
    """Apply the next `times` requests `matches` accepts, and answer them with a 500, as if the
    answer had been lost on the way back."""

    name: str
    matches: Callable[[Request], bool]
    times: int = 1
    fired: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def decide(self, request: Request) -> Fault | None:
        with self._lock:
            if self.fired >= self.times or not self.matches(request):
                return None
            self.fired += 1
        return Fault("500", "after")
