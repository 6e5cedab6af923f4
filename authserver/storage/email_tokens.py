"""E-mail verification tokens: 256-bit, stored hashed, single use."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, update
from sqlalchemy.orm import Session

from authserver.storage.models import EmailVerificationToken


class EmailTokenRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, token: EmailVerificationToken) -> None:
        self.session.add(token)

    def get(self, token_hash: str) -> EmailVerificationToken | None:
        return self.session.get(EmailVerificationToken, token_hash)

    def void_all(self, user_id: str, now: datetime) -> None:
        """A new link voids the user's older ones (of either kind)."""
        self.session.execute(
            update(EmailVerificationToken)
            .where(
                EmailVerificationToken.user_id == user_id,
                EmailVerificationToken.used_at.is_(None),
            )
            .values(used_at=now)
        )

    def mark_used(self, token_hash: str, now: datetime) -> bool:
        """Claim the token: exactly one of any number of concurrent uses gets True."""
        result = self.session.execute(
            update(EmailVerificationToken)
            .where(
                EmailVerificationToken.token_hash == token_hash,
                EmailVerificationToken.used_at.is_(None),
            )
            .values(used_at=now)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]

    def purge(self, before: datetime) -> int:
        """Delete tokens used or expired before ``before``."""
        result = self.session.execute(
            delete(EmailVerificationToken).where(
                or_(
                    EmailVerificationToken.expires_at < before,
                    EmailVerificationToken.used_at < before,
                )
            )
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
