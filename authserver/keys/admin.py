"""Key management operations shared by the CLI, the admin API and the scheduled rotation.

Each change reads and writes inside the store's ``exclusive()`` block (a lock on the key
folder, or one database transaction under an advisory lock), so two operators or two
processes cannot both create "the first" key, or both carry out one due rotation.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from typing import Any, Protocol

from authserver.errors import NotFound, SigningKeyError
from authserver.keys import lifecycle
from authserver.keys.keystore import KeyStore, StoredKey
from authserver.keys.lifecycle import KeySchedule, KeyState


class KeyChanges(Protocol):
    def schedules(self) -> list[KeySchedule]: ...
    def create(self, schedule_for: Callable[[str], KeySchedule], size: int) -> KeySchedule: ...
    def save_schedule(self, schedule: KeySchedule) -> None: ...


class SigningKeyStore(Protocol):
    """The folder store (``keys.keystore``) or the database store (``keys.db_store``)."""

    poll_in_request: bool

    def fingerprint(self) -> Any: ...
    def schedules(self) -> list[KeySchedule]: ...
    def load(self) -> list[StoredKey]: ...
    def exclusive(self) -> AbstractContextManager[Any]: ...


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


def list_keys(store: SigningKeyStore, now: float, grace: float) -> list[KeyInfo]:
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


def ensure_signing_key(
    store: SigningKeyStore, now: float, grace: float, size: int
) -> KeySchedule | None:
    """First start: create a key that signs at once when there is no key at all.
    (Nobody can have cached a JWKS of a server that never had a key.)"""
    with store.exclusive() as keys:
        if keys.schedules():
            return None
        created: KeySchedule = keys.create(lambda kid: KeySchedule(kid, now, now), size)
        return created


def _rotate(keys: KeyChanges, now: float, ahead: float, size: int) -> KeySchedule:
    current = keys.schedules()
    holder: dict[str, list[KeySchedule]] = {}

    def schedule_for(kid: str) -> KeySchedule:
        new, changed = lifecycle.plan_rotation(current, kid, now, ahead)
        holder["changed"] = changed
        return new

    new = keys.create(schedule_for, size)
    for changed in holder["changed"]:
        keys.save_schedule(changed)
    return new


def rotate(
    store: SigningKeyStore, now: float, publish_ahead: float, size: int, immediately: bool = False
) -> KeySchedule:
    """Publish a new key now; it signs from ``now + publish_ahead`` (or at once when
    ``immediately``: for a compromised key, at the price of verifiers refetching the JWKS
    on the unknown kid). The keys it replaces stop signing then and stay published until
    tokens they signed have expired."""
    with store.exclusive() as keys:
        return _rotate(keys, now, 0.0 if immediately else publish_ahead, size)


def rotate_if_due(
    store: SigningKeyStore,
    now: float,
    interval: float,
    publish_ahead: float,
    size: int,
    grace: float,
) -> KeySchedule | None:
    """The scheduled rotation: a new key when the newest one is ``interval`` old, decided
    under the store's lock, so of several processes due at once exactly one rotates (the
    others then find a new key and nothing due). Publish-ahead as for ``rotate``, unless
    no key signs at all any more (then the new one signs at once)."""
    with store.exclusive() as keys:
        current = keys.schedules()
        due = lifecycle.next_rotation(current, interval)
        if due is None or now < due:
            return None
        signing = lifecycle.signing_key(current, now, grace) is not None
        return _rotate(keys, now, publish_ahead if signing else 0.0, size)


def import_folder(source: KeyStore, target: SigningKeyStore) -> list[str]:
    """Copy every key of a key folder, with its schedule, into the database store; the
    kids added (a key already there is left alone, so an import can be run again)."""
    keys = source.load()
    with target.exclusive() as changes:
        return [k.kid for k in keys if changes.add(k)]


def rewrap(store: SigningKeyStore) -> int:
    """Re-seal the database store's private keys under the first key-encryption key."""
    with store.exclusive() as changes:
        count: int = changes.rewrap()
        return count


def retire(
    store: SigningKeyStore, kid: str, now: float, grace: float, force: bool = False
) -> KeySchedule:
    """Stop publishing a key now. Refused (unless ``force``) while the key signs or
    tokens it signed may still be valid, since that would break their verification."""
    with store.exclusive() as keys:
        schedules = {s.kid: s for s in keys.schedules()}
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
        keys.save_schedule(updated)
        return updated
