"""Throttling of the token endpoint: failed secrets lock a client id, or a source address,
out for a while that doubles with every further failure.

Kept per process, in memory: with N worker processes an attacker gets at most N times the
attempts, each still costing a full Argon2 verification, which is bounded per process too.
"""

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_TRACKED = 100_000


@dataclass
class _Failures:
    count: int = 0
    locked_until: float = 0.0
    last: float = 0.0


class Throttle:
    """`free` failures in a row are allowed; each one after that locks the key for
    `base_seconds` × 2^(failures beyond `free` − 1), at most `max_seconds`. A key's record is
    forgotten after `forget_seconds` without failures; a success clears it."""

    def __init__(
        self,
        *,
        free: int,
        base_seconds: float = 1.0,
        max_seconds: float = 900.0,
        forget_seconds: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free = free
        self.base_seconds = base_seconds
        self.max_seconds = max_seconds
        self.forget_seconds = forget_seconds
        self.clock = clock
        self._records: dict[str, _Failures] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> int | None:
        """Whole seconds until `key` may try again, or None when it may now."""
        with self._lock:
            record = self._records.get(key)
            now = self.clock()
            if record is None or record.locked_until <= now:
                return None
            return max(1, math.ceil(record.locked_until - now))

    def failed(self, key: str) -> int | None:
        """Count a failure; the lockout in seconds it starts, if any."""
        with self._lock:
            now = self.clock()
            record = self._records.get(key)
            if record is None or now - record.last > self.forget_seconds:
                if len(self._records) >= MAX_TRACKED:
                    self._forget_old(now)
                record = self._records[key] = _Failures()
            record.count += 1
            record.last = now
            beyond = record.count - self.free
            if beyond <= 0:
                return None
            seconds: float = min(self.max_seconds, self.base_seconds * 2.0 ** (beyond - 1))
            record.locked_until = now + seconds
            return math.ceil(seconds)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._records.pop(key, None)

    def _forget_old(self, now: float) -> None:
        stale = [k for k, r in self._records.items() if now - r.last > self.forget_seconds]
        for key in stale or list(self._records)[: MAX_TRACKED // 10]:
            del self._records[key]
