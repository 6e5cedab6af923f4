"""A sign-in between its first factor and its second: the browser holds a random secret
(its cookie), the database the hash, the user and the first-factor methods. It lives ten
minutes and completes once; no login session exists until it does."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from authserver.clock import Clock, to_datetime
from authserver.hashing import new_secret, secret_hash
from authserver.storage.db import UnitOfWork
from authserver.storage.models import PendingSignIn, User

TTL = timedelta(minutes=10)
MAX_SECRET_CHARS = 128


@dataclass(frozen=True)
class Pending:
    record: PendingSignIn
    user: User

    @property
    def methods(self) -> list[str]:
        return list(self.record.methods)


def start(
    uow: UnitOfWork,
    clock: Clock,
    user: User,
    methods: Sequence[str],
    *,
    ip: str | None = None,
    user_agent: str | None = None,
) -> str:
    """Record that ``user`` passed ``methods``; returns the secret for the browser."""
    now = to_datetime(clock.now())
    secret = new_secret(32)
    uow.mfa.add_pending(
        PendingSignIn(
            id=str(uuid.uuid4()),
            secret_hash=secret_hash(secret),
            user_id=user.id,
            methods=list(methods),
            ip=ip,
            user_agent=(user_agent or "")[:512] or None,
            created_at=now,
            expires_at=now + TTL,
            used_at=None,
        )
    )
    return secret


def resolve(uow: UnitOfWork, clock: Clock, secret: str | None) -> Pending | None:
    """The live pending sign-in a cookie names, or None (unknown, used, expired, or its
    user disabled meanwhile)."""
    if not secret or len(secret) > MAX_SECRET_CHARS:
        return None
    record = uow.mfa.pending_by_secret_hash(secret_hash(secret))
    if record is None or record.used_at is not None:
        return None
    if to_datetime(clock.now()) >= record.expires_at:
        return None
    user = uow.users.get(record.user_id)
    if user is None or user.disabled_at is not None:
        return None
    return Pending(record, user)


def complete(uow: UnitOfWork, clock: Clock, pending: Pending) -> bool:
    """Mark it used; False when another request completed it first."""
    return uow.mfa.complete_pending(pending.record.id, to_datetime(clock.now()))
