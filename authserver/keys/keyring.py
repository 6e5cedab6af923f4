"""The running server's view of the signing keys.

A ``KeySnapshot`` is immutable: the signing key, the published public keys and the JWKS
document with its ETag. ``KeyRing.snapshot()`` rebuilds it when the store changed or when
the clock passed the next state transition, so a running process follows rotations without
a restart. The folder store is looked at on requests, no more than once per
``check_interval``; the database store only by ``poll()``, which the process's key
maintenance thread calls (``keys.maintenance``), never on the event loop.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass, replace

from joserfc.jwk import KeySet, RSAKey
from sqlalchemy.exc import SQLAlchemyError

from authserver.clock import Clock
from authserver.errors import ServiceUnavailable, SigningKeyError
from authserver.keys import lifecycle
from authserver.keys.admin import SigningKeyStore
from authserver.keys.keystore import StoredKey

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KeySnapshot:
    signing_kid: str | None
    # A KeySet holding only the signing key: joserfc then writes its kid into the header,
    # and never picks another key at random (AUTHLIB.md §7).
    signing_keyset: KeySet | None
    # Public keys of every published key, for verifying our own tokens.
    public_keyset: KeySet
    jwks_json: bytes
    etag: str
    states: dict[str, lifecycle.KeyState]
    valid_until: float | None

    def require_signing_keyset(self) -> KeySet:
        if self.signing_keyset is None:
            raise SigningKeyError("no signing key is active; run `authserver keys rotate --now`")
        return self.signing_keyset


def build_snapshot(keys: list[StoredKey], now: float, grace: float) -> KeySnapshot:
    schedules = [k.schedule for k in keys]
    by_kid = {k.kid: k for k in keys}
    signer = lifecycle.signing_key(schedules, now, grace)
    public = [
        RSAKey.import_key(by_kid[s.kid].private.as_dict(private=False))
        for s in lifecycle.published(schedules, now, grace)
    ]
    public_keyset = KeySet(public)
    jwks_json = json.dumps(
        public_keyset.as_dict(private=False), separators=(",", ":"), sort_keys=True
    ).encode()
    return KeySnapshot(
        signing_kid=signer.kid if signer else None,
        signing_keyset=KeySet([by_kid[signer.kid].private]) if signer else None,
        public_keyset=public_keyset,
        jwks_json=jwks_json,
        etag='"' + hashlib.sha256(jwks_json).hexdigest()[:32] + '"',
        states={s.kid: lifecycle.state(s, now, grace) for s in schedules},
        valid_until=lifecycle.next_transition(schedules, now, grace),
    )


class KeyRing:
    def __init__(
        self, store: SigningKeyStore, clock: Clock, grace: float, check_interval: float = 1.0
    ) -> None:
        self.store = store
        self.clock = clock
        self.grace = grace
        self.check_interval = check_interval
        self._lock = threading.Lock()
        self._keys: list[StoredKey] = []
        self._fingerprint: object = None
        self._checked_at = float("-inf")
        self._snapshot: KeySnapshot | None = None

    def snapshot(self) -> KeySnapshot:
        now = self.clock.now()
        snap = self._snapshot
        watch = self.store.poll_in_request
        if (
            snap is not None
            and (not watch or now - self._checked_at < self.check_interval)
            and (snap.valid_until is None or now < snap.valid_until)
        ):
            return snap
        with self._lock:
            return self._refresh(now, reload=watch or self._snapshot is None)

    def poll(self) -> KeySnapshot:
        """Look at the store now (the maintenance thread's call)."""
        with self._lock:
            return self._refresh(self.clock.now(), reload=True)

    def _refresh(self, now: float, reload: bool) -> KeySnapshot:
        self._checked_at = now
        if reload:
            try:
                fingerprint = self.store.fingerprint()
                if fingerprint != self._fingerprint:
                    self._keys = self.store.load()
                    self._fingerprint = fingerprint
                    self._snapshot = None
            except (
                SigningKeyError,
                OSError,
                ValueError,
                SQLAlchemyError,
                ServiceUnavailable,
            ) as exc:
                # A half-copied file or a key this process cannot open (a KEK it lacks)
                # must not take a running server down: keep the keys it could read, and
                # say why. Their schedules still follow the store, so a key retired or
                # stopped elsewhere (a compromised one) stops here too.
                if self._snapshot is None:
                    raise
                log.error("keeping the keys this process could read: %s", exc)
                self._follow_schedules()
        snap = self._snapshot
        if snap is None or (snap.valid_until is not None and now >= snap.valid_until):
            snap = build_snapshot(self._keys, now, self.grace)
            self._snapshot = snap
        return snap

    def _follow_schedules(self) -> None:
        """Apply the store's current schedules to the keys held (their private halves
        need no decryption). A key no longer in the store is dropped; one that cannot
        be read is not added."""
        try:
            fresh = {s.kid: s for s in self.store.schedules()}
        except (OSError, ValueError, TypeError, SQLAlchemyError, ServiceUnavailable) as exc:
            log.error("cannot read the key schedules either: %s", exc)
            return
        kept = [replace(k, schedule=fresh[k.kid]) for k in self._keys if k.kid in fresh]
        if [k.schedule for k in kept] != [k.schedule for k in self._keys]:
            self._keys = kept
            self._snapshot = None
