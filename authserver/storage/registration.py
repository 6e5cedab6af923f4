"""Initial access tokens for dynamic client registration (RFC 7591 §3)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from authserver.storage.models import InitialAccessToken


class InitialAccessTokenRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, token: InitialAccessToken) -> None:
        self.session.add(token)

    def get(self, token_hash: str) -> InitialAccessToken | None:
        # Fresh from the database: claim_use changes rows behind the session's back.
        return self.session.get(InitialAccessToken, token_hash, populate_existing=True)

    def claim_use(self, token_hash: str, now: datetime) -> bool:
        """Count one use of a live token (not revoked, not expired, uses left) in one
        conditional UPDATE: exactly one row, or the token is not usable."""
        t = InitialAccessToken
        result = self.session.execute(
            update(t)
            .where(
                t.token_hash == token_hash,
                t.revoked_at.is_(None),
                t.expires_at > now,
                or_(t.max_uses.is_(None), t.uses < t.max_uses),
            )
            .values(uses=t.uses + 1, last_used_at=now)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]
