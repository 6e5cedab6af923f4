"""Attempt counters for throttling: Redis in production, process memory when embedded.

Counters are sliding windows: an event counts for exactly ``window`` seconds after it
happened, so no span of ``window`` seconds ever holds more than ``limit`` counted events
(fixed windows aligned to the clock let a burst straddling a boundary have twice the
limit). An event at the limit is refused and *not* counted, so hammering a throttled key
does not prolong the throttle: it lifts when the oldest counted event is ``window``
seconds old. There is no state to reset and no permanent lockout. Each key keeps the
times of its counted events (at most ``limit`` of them), and every process reads the
time from its own clock.

``MemoryRateLimiter`` is for the embedded, single-process mode only: each process would
count on its own (the settings refuse several workers without Redis).
"""

from __future__ import annotations

import bisect
import math
import secrets
import threading
from typing import Protocol

import redis

from authserver.clock import Clock
from authserver.errors import ServiceUnavailable

# Counters are kept a little longer than the window, for processes whose clocks are
# slightly behind.
EXPIRY_SLACK = 60
MAX_MEMORY_KEYS = 100_000


class RateLimiter(Protocol):
    def hit(self, key: str, limit: int, window: int) -> int | None:
        """Count one event for ``key`` among the last ``window`` seconds' events. None
        when fewer than ``limit`` were counted (and this one is); otherwise the seconds
        until one of them is ``window`` seconds old (and nothing is counted)."""
        ...

    def undo(self, key: str, window: int) -> None:
        """Un-count the latest counted event (an attempt that turned out fine)."""
        ...

    def clear(self, key: str, window: int) -> None:
        """Forget every counted event of ``key``."""
        ...


def seconds_until(oldest: float, now: float, window: int) -> int:
    """Until an event at ``oldest`` stops counting; at least 1 (a Retry-After of 0
    invites a retry loop)."""
    return max(1, math.ceil(oldest + window - now))


class MemoryRateLimiter:
    """One process's counters in a dict (embedded mode): key -> times of counted events."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._events: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, limit: int, window: int) -> int | None:
        now = self.clock.now()
        full = f"{key}:{window}"
        with self._lock:
            events = self._events.get(full, [])
            del events[: bisect.bisect_right(events, now - window)]
            if len(events) >= limit:
                return seconds_until(events[-limit], now, window)
            if full not in self._events and len(self._events) >= MAX_MEMORY_KEYS:
                self._purge(now)
            bisect.insort(events, now)
            self._events[full] = events
        return None

    def undo(self, key: str, window: int) -> None:
        with self._lock:
            events = self._events.get(f"{key}:{window}")
            if events:
                events.pop()
            if not events:
                self._events.pop(f"{key}:{window}", None)

    def clear(self, key: str, window: int) -> None:
        with self._lock:
            self._events.pop(f"{key}:{window}", None)

    def _purge(self, now: float) -> None:
        def live(full: str, events: list[float]) -> bool:
            window = int(full.rsplit(":", 1)[1])
            return bool(events) and events[-1] > now - window

        self._events = {k: v for k, v in self._events.items() if live(k, v)}
        if len(self._events) >= MAX_MEMORY_KEYS:
            # Still full of live counters: a flood of distinct keys. Forget the half with
            # the fewest events: a counter near its limit (a guessing attack under way)
            # must survive, or the flood itself would be a way to reset it.
            keep = sorted(self._events.items(), key=lambda kv: len(kv[1]), reverse=True)
            self._events = dict(keep[: MAX_MEMORY_KEYS // 2])


# Check and count in one atomic step, so concurrent attempts on any number of
# processes can never together pass the limit. A sorted set per key: members are
# events, scores their times. Refused: the time of the event whose expiry frees a slot.
_HIT = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
if n >= limit then
  return redis.call('ZRANGE', KEYS[1], n - limit, n - limit, 'WITHSCORES')[2]
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return false
"""


class RedisRateLimiter:
    """Shared by every process: sorted sets ``<prefix>rl:<key>:<window>``."""

    def __init__(self, client: redis.Redis, prefix: str, clock: Clock) -> None:
        self.client = client
        self.prefix = prefix + "rl:"
        self.clock = clock
        self._hit = client.register_script(_HIT)

    def hit(self, key: str, limit: int, window: int) -> int | None:
        now = self.clock.now()
        event = f"{now!r}:{secrets.token_hex(6)}"
        try:
            oldest = self._hit(
                keys=[f"{self.prefix}{key}:{window}"],
                args=[repr(now), window, limit, event, window + EXPIRY_SLACK],
            )
        except redis.RedisError as exc:
            raise ServiceUnavailable("redis unavailable") from exc
        return None if oldest is None else seconds_until(float(oldest), now, window)

    def undo(self, key: str, window: int) -> None:
        try:
            self.client.zpopmax(f"{self.prefix}{key}:{window}")
        except redis.RedisError as exc:
            raise ServiceUnavailable("redis unavailable") from exc

    def clear(self, key: str, window: int) -> None:
        try:
            self.client.delete(f"{self.prefix}{key}:{window}")
        except redis.RedisError as exc:
            raise ServiceUnavailable("redis unavailable") from exc
