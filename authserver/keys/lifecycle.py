"""Signing-key lifecycle: pure functions of a key's timestamps and the current time.

Every process computes the same state from the same schedule, so no process has to tell
another that a key started or stopped signing:

* next      published, not yet signing   now < activates_at
* active    signing                      activates_at <= now < deactivates_at
* retiring  published, no longer signing deactivates_at <= now < deactivates_at + grace
* retired   not published                after that, or from retired_at on

``grace`` is the longest lifetime of a token signed by the key (plus clock leeway), so a
retired key can no longer have a valid token in the wild.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum


class KeyState(StrEnum):
    NEXT = "next"
    ACTIVE = "active"
    RETIRING = "retiring"
    RETIRED = "retired"


PUBLISHED = frozenset({KeyState.NEXT, KeyState.ACTIVE, KeyState.RETIRING})


@dataclass(frozen=True)
class KeySchedule:
    kid: str
    created_at: float
    activates_at: float
    deactivates_at: float | None = None
    retired_at: float | None = None


def state(key: KeySchedule, now: float, grace: float) -> KeyState:
    if key.retired_at is not None and now >= key.retired_at:
        return KeyState.RETIRED
    if now < key.activates_at:
        return KeyState.NEXT
    if key.deactivates_at is None or now < key.deactivates_at:
        return KeyState.ACTIVE
    if now < key.deactivates_at + grace:
        return KeyState.RETIRING
    return KeyState.RETIRED


def signing_key(keys: Iterable[KeySchedule], now: float, grace: float) -> KeySchedule | None:
    """The one key that signs now: of the active keys, the most recently activated."""
    active = [k for k in keys if state(k, now, grace) is KeyState.ACTIVE]
    return max(active, key=lambda k: (k.activates_at, k.kid), default=None)


def published(keys: Iterable[KeySchedule], now: float, grace: float) -> list[KeySchedule]:
    return sorted(
        (k for k in keys if state(k, now, grace) in PUBLISHED),
        key=lambda k: (k.activates_at, k.kid),
    )


def next_transition(keys: Iterable[KeySchedule], now: float, grace: float) -> float | None:
    """The earliest future moment at which any key changes state."""
    moments: list[float] = []
    for k in keys:
        moments.append(k.activates_at)
        if k.deactivates_at is not None:
            moments += [k.deactivates_at, k.deactivates_at + grace]
        if k.retired_at is not None:
            moments.append(k.retired_at)
    future = [m for m in moments if m > now]
    return min(future, default=None)


def plan_rotation(
    keys: Iterable[KeySchedule], new_kid: str, now: float, publish_ahead: float
) -> tuple[KeySchedule, list[KeySchedule]]:
    """Schedule a new key and hand over to it.

    The new key is published at once and signs from ``now + publish_ahead``: verifiers
    that cached the JWKS before it appeared have refreshed by then. Every key that would
    still be signing at that moment stops then, and stays published for the grace period.
    Returns the new schedule and the changed ones.
    """
    activates_at = now + publish_ahead
    new = KeySchedule(kid=new_kid, created_at=now, activates_at=activates_at)
    changed = [
        replace(k, deactivates_at=activates_at)
        for k in keys
        if k.retired_at is None and (k.deactivates_at is None or k.deactivates_at > activates_at)
    ]
    return new, changed


def next_rotation(keys: Iterable[KeySchedule], interval: float | None) -> float | None:
    """When a scheduled rotation is due: ``interval`` after the newest key was made (None
    when rotation is off, or before the first key exists)."""
    newest = max((k.created_at for k in keys), default=None)
    if interval is None or newest is None:
        return None
    return newest + interval
