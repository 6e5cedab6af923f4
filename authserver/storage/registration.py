"""Initial access tokens for dynamic client registration (RFC 7591 §3)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from authserver.storage.models import InitialAccessToken


class InitialAccessTokenRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, token: InitialAccessToken) -> None:
        self.session.add(token)

    def get(self, token_hash: str) -> InitialAccessToken | None:
        return self.session.get(InitialAccessToken, token_hash)
