"""Key management operations shared by the CLI and the admin API.

They change the files under the key folder while holding an exclusive lock on it, so two
operators (or two starting processes) cannot both create "the first" key.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from authserver.errors import NotFound, SigningKeyError
from authserver.keys import lifecycle
from authserver.keys.keystore import KeyStore
from authserver.keys.lifecycle import KeySchedule, KeyState


@dataclass(frozen=True)
class KeyInfo:
    kid: str
    state: KeyState
    created_at: float
    activates_at: float
    deactivates_at: float | None
    retired_at: float | None
    # When the key leaves the JWKS (None: not scheduled yet).
    unpublished_at: float | None


@contextmanager
def _locked(store: KeyStore) -> Iterator[None]:
    store.directory.mkdir(parents=True, exist_ok=True)
    with open(store.directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def list_keys(store: KeyStore, now: float, grace: float) -> list[KeyInfo]:
    out = []
    for s in sorted(store.schedules(), key=lambda k: (k.activates_at, k.kid)):
        ends = [t for t in (s.retired_at, s.deactivates_at and s.deactivates_at + grace) if t]
        out.append(
            KeyInfo(
                kid=s.kid,
                state=lifecycle.state(s, now, grace),
                created_at=s.created_at,
                activates_at=s.activates_at,
                deactivates_at=s.deactivates_at,
                retired_at=s.retired_at,
                unpublished_at=min(ends) if ends else None,
            )
        )
    return out


def ensure_signing_key(store: KeyStore, now: float, grace: float, size: int) -> KeySchedule | None:
    """First start: create a key that signs at once when there is no key at all.
    (Nobody can have cached a JWKS of a server that never had a key.)"""
    with _locked(store):
        if store.schedules():
            return None
        return store.create(lambda kid: KeySchedule(kid, now, now), size)


def rotate(
    store: KeyStore, now: float, publish_ahead: float, size: int, immediately: bool = False
) -> KeySchedule:
    """Publish a new key now; it signs from ``now + publish_ahead`` (or at once when
    ``immediately``: for a compromised key, at the price of verifiers refetching the JWKS
    on the unknown kid). The keys it replaces stop signing then and stay published until
    tokens they signed have expired."""
    ahead = 0.0 if immediately else publish_ahead
    with _locked(store):
        current = store.schedules()
        holder: dict[str, list[KeySchedule]] = {}

        def schedule_for(kid: str) -> KeySchedule:
            new, changed = lifecycle.plan_rotation(current, kid, now, ahead)
            holder["changed"] = changed
            return new

        new = store.create(schedule_for, size)
        for changed in holder["changed"]:
            store.save_schedule(changed)
        return new


def retire(store: KeyStore, kid: str, now: float, grace: float, force: bool = False) -> KeySchedule:
    """Stop publishing a key now. Refused (unless ``force``) while the key signs or
    tokens it signed may still be valid, since that would break their verification."""
    with _locked(store):
        schedules = {s.kid: s for s in store.schedules()}
        if kid not in schedules:
            raise NotFound(f"no key {kid}")
        target = schedules[kid]
        st = lifecycle.state(target, now, grace)
        if st is KeyState.RETIRED:
            return target
        others = [s for k, s in schedules.items() if k != kid]
        if (
            st is KeyState.ACTIVE
            and lifecycle.signing_key(others, now, grace) is None
            and not force
        ):
            raise SigningKeyError(
                f"{kid} is the only signing key; rotate first (`authserver keys rotate --now`)"
            )
        if st in (KeyState.ACTIVE, KeyState.RETIRING) and not force:
            raise SigningKeyError(
                f"{kid} is {st}: tokens it signed may still be valid; use --force to retire "
                "it anyway (they will fail verification)"
            )
        updated = replace(target, retired_at=now)
        store.save_schedule(updated)
        return updated
