"""Public keys published by clients at their ``jwks_uri`` (private_key_jwt), fetched over
https with a timeout and a size cap, and cached per process."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from urllib.parse import urlsplit

from joserfc.jwk import KeySet

MAX_BYTES = 64 * 1024
TIMEOUT = 5.0


class RemoteJwks:
    def __init__(self, ttl: float = 300.0, min_refetch: float = 10.0) -> None:
        self.ttl = ttl
        self.min_refetch = min_refetch
        self._cache: dict[str, tuple[float, KeySet]] = {}
        self._lock = threading.Lock()

    def get(self, url: str, kid: str | None = None) -> KeySet:
        """The key set at ``url``; refetched when stale, or when ``kid`` is unknown (a
        client rotated its keys) and the last fetch is ``min_refetch`` seconds old."""
        now = time.monotonic()
        cached = self._cache.get(url)
        if cached is not None:
            fetched_at, keys = cached
            fresh = now - fetched_at < self.ttl
            knows_kid = kid is None or any(k.kid == kid for k in keys.keys)
            if fresh and (knows_kid or now - fetched_at < self.min_refetch):
                return keys
        keys = self._fetch(url)
        with self._lock:
            self._cache[url] = (now, keys)
        return keys

    @staticmethod
    def _fetch(url: str) -> KeySet:
        if urlsplit(url).scheme != "https":
            raise ValueError("jwks_uri must be https")
        request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            body = response.read(MAX_BYTES + 1)
        if len(body) > MAX_BYTES:
            raise ValueError("jwks_uri document too large")
        return KeySet.import_key_set(json.loads(body))
