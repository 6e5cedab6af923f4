"""Registered OAuth clients."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from authserver.storage.models import Client


class ClientRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, client_id: str) -> Client | None:
        return self.session.get(Client, client_id)

    def add(self, client: Client) -> Client:
        self.session.add(client)
        self.session.flush()
        return client

    def list(self, offset: int = 0, limit: int = 100) -> Sequence[Client]:
        stmt = select(Client).order_by(Client.client_id).offset(offset).limit(limit)
        return self.session.scalars(stmt).all()

    def count(self) -> int:
        return self.session.scalar(select(func.count()).select_from(Client)) or 0

    def find_by_registration_token_hash(self, token_hash: str) -> Client | None:
        stmt = select(Client).where(Client.registration_access_token_hash == token_hash)
        return self.session.scalars(stmt).first()

    def delete(self, client_id: str) -> bool:
        result = self.session.execute(delete(Client).where(Client.client_id == client_id))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def all_cors_origins(self) -> set[str]:
        """Every origin any client registered (for CORS preflights, which name no client)."""
        rows = self.session.execute(select(Client.allowed_cors_origins)).scalars()
        return {origin for origins in rows for origin in (origins or [])}
