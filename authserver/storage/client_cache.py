"""A short-lived, per-process cache of client registrations.

Every token request authenticates its client; reading the registration from the
database each time costs more than signing the token does not leave room for (see
PERFORMANCE.md). Registrations change rarely, so each process keeps immutable snapshots
for ``ttl`` seconds. A change made on another process (or by the CLI) takes effect here
within ``ttl``; a change made through this process's services is dropped at once
(``invalidate``). ``ttl`` 0 turns the cache off.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from authserver.clock import Clock
from authserver.storage.models import Client

MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class ClientRecord:
    """An immutable copy of a ``clients`` row, safe to share between threads."""

    client_id: str
    secret_hash: str | None
    name: str
    token_endpoint_auth_method: str
    grant_types: tuple[str, ...]
    response_types: tuple[str, ...]
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...]
    scope: str
    first_party: bool
    refresh_without_offline_access: bool
    require_verified_email: bool
    allowed_cors_origins: tuple[str, ...]
    audience: tuple[str, ...]
    allow_introspection: bool
    jwks: dict[str, Any] | None
    jwks_uri: str | None
    extra_metadata: dict[str, Any]
    # Its users must pass a second factor.
    require_mfa: bool = False
    # Registered through dynamic registration (RFC 7591) rather than by an operator:
    # nobody vouched for its name (the consent page says so).
    self_registered: bool = False

    @classmethod
    def of(cls, row: Client) -> ClientRecord:
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "self_registered":
                values[f.name] = row.registration_access_token_hash is not None
                continue
            value = getattr(row, f.name)
            values[f.name] = tuple(value) if isinstance(value, list) else value
        return cls(**values)


class ClientCache:
    def __init__(self, clock: Clock, ttl: float) -> None:
        self.clock = clock
        self.ttl = ttl
        self._entries: dict[str, tuple[float, ClientRecord | None]] = {}
        self._lock = threading.Lock()
        self._origins: tuple[float, frozenset[str]] | None = None

    def get(self, client_id: str, load: Callable[[], Client | None]) -> ClientRecord | None:
        """The registration, from the cache while fresh, else from ``load``. Unknown
        clients are cached too, so a flood of bogus ids does not reach the database."""
        if self.ttl <= 0:
            row = load()
            return ClientRecord.of(row) if row else None
        now = self.clock.now()
        entry = self._entries.get(client_id)
        if entry is not None and entry[0] > now:
            return entry[1]
        row = load()
        record = ClientRecord.of(row) if row else None
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[client_id] = (now + self.ttl, record)
        return record

    def peek(self, client_id: str) -> ClientRecord | None:
        """The registration if it is cached and fresh, else None (never loads)."""
        entry = self._entries.get(client_id)
        if entry is None or self.ttl <= 0 or entry[0] <= self.clock.now():
            return None
        return entry[1]

    def cors_origins(self, load: Callable[[], set[str]]) -> frozenset[str]:
        """The union of every client's allowed CORS origins, cached like registrations."""
        now = self.clock.now()
        cached = self._origins
        if self.ttl > 0 and cached is not None and cached[0] > now:
            return cached[1]
        origins = frozenset(load())
        self._origins = (now + self.ttl, origins)
        return origins

    def invalidate(self, client_id: str | None = None) -> None:
        self._origins = None
        with self._lock:
            if client_id is None:
                self._entries.clear()
            else:
                self._entries.pop(client_id, None)
