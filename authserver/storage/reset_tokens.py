"""Password-reset tokens: 256-bit, stored hashed, single use."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, update
from sqlalchemy.orm import Session

from authserver.storage.models import PasswordResetToken


class ResetTokenRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, token: PasswordResetToken) -> None:
        self.session.add(token)

    def get(self, token_hash: str) -> PasswordResetToken | None:
        return self.session.get(PasswordResetToken, token_hash)

    def void_all(self, user_id: str, now: datetime) -> None:
        """A new request voids the older ones."""
        self.session.execute(
            update(PasswordResetToken)
            .where(PasswordResetToken.user_id == user_id, PasswordResetToken.used_at.is_(None))
            .values(used_at=now)
        )

    def mark_used(self, token_hash: str, now: datetime) -> bool:
        result = self.session.execute(
            update(PasswordResetToken)
            .where(
                PasswordResetToken.token_hash == token_hash, PasswordResetToken.used_at.is_(None)
            )
            .values(used_at=now)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]

    def purge(self, before: datetime) -> int:
        """Delete tokens used or expired before ``before``."""
        result = self.session.execute(
            delete(PasswordResetToken).where(
                or_(PasswordResetToken.expires_at < before, PasswordResetToken.used_at < before)
            )
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
