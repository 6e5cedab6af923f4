"""Registered OAuth clients."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from authserver.storage.models import Client
from authserver.storage.search import contains


class ClientRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, client_id: str, *, for_update: bool = False) -> Client | None:
        """The client; ``for_update`` locks its row until the transaction ends."""
        return self.session.get(Client, client_id, with_for_update=for_update or None)

    def add(self, client: Client) -> Client:
        self.session.add(client)
        self.session.flush()
        return client

    def list(
        self, offset: int = 0, limit: int = 100, containing: str | None = None
    ) -> Sequence[Client]:
        """By client id; with ``containing``, only those whose id or name contains it
        (case-insensitive)."""
        stmt = _containing(select(Client), containing)
        stmt = stmt.order_by(Client.client_id).offset(offset).limit(limit)
        return self.session.scalars(stmt).all()

    def count(self, containing: str | None = None) -> int:
        stmt = _containing(select(func.count()).select_from(Client), containing)
        return self.session.scalar(stmt) or 0

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


def _containing(stmt: Select[Any], text: str | None) -> Select[Any]:
    return stmt.where(contains(text, Client.client_id, Client.name)) if text else stmt
