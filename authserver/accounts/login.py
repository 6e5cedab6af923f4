"""Checking an e-mail and password: the same answer, and the same work, for an unknown
e-mail as for a wrong password."""

from __future__ import annotations

from authserver.accounts.passwords import PasswordHasher
from authserver.clock import Clock, to_datetime
from authserver.storage.db import UnitOfWork
from authserver.storage.models import User

MAX_PASSWORD_CHARS = 256
MAX_EMAIL_CHARS = 320


def authenticate(
    uow: UnitOfWork, hasher: PasswordHasher, clock: Clock, email: str, password: str
) -> User | None:
    """The active user with this e-mail and password, or None. A stored hash made with
    older parameters (or bcrypt) is replaced on success."""
    if len(email) > MAX_EMAIL_CHARS or len(password) > MAX_PASSWORD_CHARS:
        hasher.verify_dummy(password[:MAX_PASSWORD_CHARS])
        return None
    user = uow.users.find_by_email(email)
    if user is None:
        hasher.verify_dummy(password)
        return None
    result = hasher.verify(user.password_hash, password)
    if not result.ok or user.disabled_at is not None:
        return None
    if result.needs_rehash:
        uow.users.set_password_hash(user.id, hasher.hash(password), to_datetime(clock.now()))
    return user
