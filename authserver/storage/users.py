"""End users."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from authserver.email_keys import email_key
from authserver.errors import Conflict
from authserver.i18n.message import N_
from authserver.storage.models import User
from authserver.storage.search import contains

__all__ = ["UserRepository", "email_key"]


class UserRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, user_id: str) -> User | None:
        return self.session.get(User, user_id)

    def find_by_email(self, email: str) -> User | None:
        stmt = select(User).where(User.email_key == email_key(email))
        return self.session.scalars(stmt).first()

    def add(self, user: User) -> User:
        """Insert a user; ``Conflict`` when the e-mail is taken (also when a concurrent
        sign-up with the same address committed first: the unique ``email_key``)."""
        self.session.add(user)
        try:
            self.session.flush()
        except IntegrityError:
            raise Conflict(N_("An account with that e-mail address already exists.")) from None
        return user

    def list(
        self, offset: int = 0, limit: int = 100, containing: str | None = None
    ) -> Sequence[User]:
        """Oldest first; with ``containing``, only users whose e-mail address or id
        contains it (case-insensitive)."""
        stmt = _containing(select(User), containing)
        stmt = stmt.order_by(User.created_at, User.id).offset(offset).limit(limit)
        return self.session.scalars(stmt).all()

    def count(self, containing: str | None = None) -> int:
        stmt = _containing(select(func.count()).select_from(User), containing)
        return self.session.scalar(stmt) or 0

    def delete(self, user_id: str) -> bool:
        """Delete a user; the database cascades to their sessions, token families, codes,
        consents and reset tokens. (Audit events keep the id.)"""
        result = self.session.execute(delete(User).where(User.id == user_id))
        return bool(getattr(result, "rowcount", 0))

    def set_password_hash(self, user_id: str, password_hash: str, now: datetime) -> None:
        self.session.execute(
            update(User)
            .where(User.id == user_id)
            .values(password_hash=password_hash, updated_at=now)
        )

    def invalidate_tokens_before(self, user_id: str, epoch_seconds: int, now: datetime) -> None:
        """Access tokens of this user with `iat` < ``epoch_seconds`` stop being valid."""
        self.session.execute(
            update(User)
            .where(User.id == user_id, User.tokens_valid_after < epoch_seconds)
            .values(tokens_valid_after=epoch_seconds, updated_at=now)
        )


def _containing(stmt: Select[Any], text: str | None) -> Select[Any]:
    return stmt.where(contains(text, User.email_key, User.id)) if text else stmt
