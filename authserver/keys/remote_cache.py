"""The key sets clients publish at their ``jwks_uri``, cached per process, fetched off
the protocol threads.

A fetch is asked for during client authentication, before any signature can be checked,
by whoever names the client in an assertion: it must not let one slow host take the
token endpoint down. So:

- fetches run on a small pool of their own, never on the threads running the protocol
  endpoints: a protocol thread that needs keys being fetched raises ``JwksPending`` and
  the caller waits for it on the event loop (``web.oauth_bridge``), holding no thread;
- there is one fetch in flight per URL: everyone needing it waits for that one;
- each fetch ends by a wall-clock deadline ``remote.TIMEOUT`` after it was asked for
  (time spent queued for the pool counts);
- a failure is remembered (negative cache) for ``min_refetch`` seconds, like a success:
  an unknown ``kid`` (the client rotated its keys) refetches at most that often, so
  assertions with made-up kids cannot turn into a stream of requests to anyone.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass

from joserfc.jwk import KeySet

from authserver.keys.remote import TIMEOUT, JwksUnavailable, fetch

log = logging.getLogger(__name__)

# Fetches queued or running at once, whatever the URLs; beyond, a client is refused at
# once (``invalid_client``) rather than queued behind hosts that may all be slow.
MAX_IN_FLIGHT = 32

# True in a request that already waited for a fetch: it is not made to wait twice.
_waited: ContextVar[bool] = ContextVar("jwks_waited", default=False)


class JwksPending(Exception):
    """The keys a request needs are being fetched. Not an error: the caller awaits
    ``wait()`` off the protocol threads, then runs the request again after calling
    ``mark_waited()`` in its context, and that run uses whatever the fetch brought."""

    def __init__(self, future: Future[None], timeout: float) -> None:
        super().__init__("jwks_uri fetch in flight")
        self.future = future
        self.timeout = timeout

    async def wait(self) -> None:
        # asyncio.wait, unlike wait_for, does not cancel the (shared) fetch on timeout.
        await asyncio.wait([asyncio.wrap_future(self.future)], timeout=self.timeout)


def mark_waited() -> None:
    _waited.set(True)


@dataclass(frozen=True)
class _Entry:
    keys: KeySet | None  # None: never fetched successfully
    fetched_at: float
    attempted_at: float  # when the last fetch, good or bad, ended


class RemoteJwks:
    def __init__(self, ttl: float = 300.0, min_refetch: float = 10.0, threads: int = 2) -> None:
        self.ttl = ttl
        self.min_refetch = min_refetch
        self._cache: dict[str, _Entry] = {}
        self._in_flight: dict[str, Future[None]] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="authserver-jwks")

    def get(
        self,
        url: str,
        kid: str | None = None,
        *,
        now: float | None = None,
        allow_private_networks: bool = False,
    ) -> KeySet:
        """The key set at ``url``, from the cache (``ttl`` seconds) when it has ``kid``.
        Raises ``JwksPending`` when a fetch must be waited for, ``JwksUnavailable``
        when there are no keys to be had (now). ``now``: the app's clock, seconds."""
        now = time.time() if now is None else now
        with self._lock:
            entry = self._cache.get(url)
            fresh = entry is not None and now - entry.fetched_at < self.ttl
            cached = entry.keys if entry is not None and fresh else None
            if cached is not None and (kid is None or any(k.kid == kid for k in cached.keys)):
                return cached
            future = self._in_flight.get(url)
            if future is None:
                recent = entry is not None and now - entry.attempted_at < self.min_refetch
                if recent or _waited.get():
                    if cached is not None:
                        return cached  # the unknown kid then fails verification
                    raise JwksUnavailable("jwks_uri failed recently")
                future = self._start(url, allow_private_networks, now)
            elif _waited.get():
                raise JwksUnavailable("jwks_uri fetch still in flight")
        raise JwksPending(future, TIMEOUT + 1.0)

    def _start(self, url: str, allow_private_networks: bool, now: float) -> Future[None]:
        if len(self._in_flight) >= MAX_IN_FLIGHT:
            raise JwksUnavailable("too many jwks_uri fetches in flight")
        deadline = time.monotonic() + TIMEOUT
        future = self._pool.submit(self._fetch, url, allow_private_networks, now, deadline)
        self._in_flight[url] = future
        return future

    def _fetch(self, url: str, allow_private_networks: bool, now: float, deadline: float) -> None:
        started = time.monotonic()
        keys: KeySet | None = None
        try:
            keys = fetch(url, allow_private_networks, deadline)
        except JwksUnavailable as exc:
            log.info("jwks_uri fetch failed: %s", exc)
        except Exception:
            log.exception("jwks_uri fetch failed")
        ended = now + (time.monotonic() - started)
        with self._lock:
            entry = self._cache.get(url)
            if keys is not None:
                self._cache[url] = _Entry(keys, ended, ended)
            else:
                old_keys, fetched_at = (entry.keys, entry.fetched_at) if entry else (None, ended)
                self._cache[url] = _Entry(old_keys, fetched_at, ended)
            self._in_flight.pop(url, None)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
