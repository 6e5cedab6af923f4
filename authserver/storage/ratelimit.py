"""Attempt counters for throttling: Redis in production, process memory when embedded.

Counters live in fixed windows aligned to the clock (window number = now // window), so
every process computes the same window from its own clock and a counter simply stops
mattering when its window ends: there is no state to reset and no permanent lockout.
An event at the limit is refused and *not* counted, so hammering a throttled key does not
prolong the throttle past the end of its window.

``MemoryRateLimiter`` is for the embedded, single-process mode only: each process would
count on its own (the settings refuse several workers without Redis).
"""

from __future__ import annotations

import math
import threading
from typing import Protocol

import redis

from authserver.clock import Clock
from authserver.errors import ServiceUnavailable

# Counters of a finished window are kept a little longer than the window, for processes
# whose clocks are slightly behind.
EXPIRY_SLACK = 60
MAX_MEMORY_KEYS = 100_000


class RateLimiter(Protocol):
    def hit(self, key: str, limit: int, window: int) -> int | None:
        """Count one event for ``key`` in the current window of ``window`` seconds.
        None when it was within ``limit`` (and is counted); otherwise the seconds until
        the window ends (and nothing is counted)."""
        ...

    def undo(self, key: str, window: int) -> None:
        """Un-count one event of the current window (an attempt that turned out fine)."""
        ...

    def clear(self, key: str, window: int) -> None:
        """Forget the current window's count for ``key``."""
        ...


def window_index(now: float, window: int) -> int:
    return int(now // window)


def seconds_left(now: float, window: int) -> int:
    """Until the current window ends; at least 1 (a Retry-After of 0 invites a retry loop)."""
    return max(1, math.ceil((window_index(now, window) + 1) * window - now))


class MemoryRateLimiter:
    """One process's counters in a dict (embedded mode)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._counts: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def _key(self, key: str, window: int, now: float) -> str:
        return f"{key}:{window}:{window_index(now, window)}"

    def hit(self, key: str, limit: int, window: int) -> int | None:
        now = self.clock.now()
        full = self._key(key, window, now)
        with self._lock:
            count, _ = self._counts.get(full, (0, 0.0))
            if count >= limit:
                return seconds_left(now, window)
            if full not in self._counts and len(self._counts) >= MAX_MEMORY_KEYS:
                self._purge(now)
            self._counts[full] = (count + 1, now + window + EXPIRY_SLACK)
        return None

    def undo(self, key: str, window: int) -> None:
        full = self._key(key, window, self.clock.now())
        with self._lock:
            count, expires = self._counts.get(full, (0, 0.0))
            if count > 1:
                self._counts[full] = (count - 1, expires)
            else:
                self._counts.pop(full, None)

    def clear(self, key: str, window: int) -> None:
        with self._lock:
            self._counts.pop(self._key(key, window, self.clock.now()), None)

    def _purge(self, now: float) -> None:
        self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
        if len(self._counts) >= MAX_MEMORY_KEYS:
            # Still full of live counters: a flood of distinct keys. Forget the half with
            # the fewest events: a counter near its limit (a guessing attack under way)
            # must survive, or the flood itself would be a way to reset it.
            keep = sorted(self._counts.items(), key=lambda kv: kv[1][0], reverse=True)
            self._counts = dict(keep[: MAX_MEMORY_KEYS // 2])


# Check and count in one atomic step, so concurrent attempts on any number of
# processes can never together pass the limit.
_HIT = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then return 0 end
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""
_UNDO = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 1 then return redis.call('DECR', KEYS[1]) end
redis.call('DEL', KEYS[1])
return 0
"""


class RedisRateLimiter:
    """Shared by every process: keys ``<prefix>rl:<key>:<window>:<window number>``."""

    def __init__(self, client: redis.Redis, prefix: str, clock: Clock) -> None:
        self.client = client
        self.prefix = prefix + "rl:"
        self.clock = clock
        self._hit = client.register_script(_HIT)
        self._undo = client.register_script(_UNDO)

    def _key(self, key: str, window: int, now: float) -> str:
        return f"{self.prefix}{key}:{window}:{window_index(now, window)}"

    def hit(self, key: str, limit: int, window: int) -> int | None:
        now = self.clock.now()
        try:
            counted = self._hit(
                keys=[self._key(key, window, now)], args=[limit, window + EXPIRY_SLACK]
            )
        except redis.RedisError as exc:
            raise ServiceUnavailable("redis unavailable") from exc
        return None if counted else seconds_left(now, window)

    def undo(self, key: str, window: int) -> None:
        try:
            self._undo(keys=[self._key(key, window, self.clock.now())])
        except redis.RedisError as exc:
            raise ServiceUnavailable("redis unavailable") from exc

    def clear(self, key: str, window: int) -> None:
        try:
            self.client.delete(self._key(key, window, self.clock.now()))
        except redis.RedisError as exc:
            raise ServiceUnavailable("redis unavailable") from exc
