"""Remembered consent, per user and client."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from authserver.storage.models import Client, Consent


class ConsentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def granted_scopes(self, user_id: str, client_id: str) -> set[str]:
        consent = self.session.get(Consent, (user_id, client_id))
        return set(consent.scope.split()) if consent else set()

    def grant(self, user_id: str, client_id: str, scopes: set[str], now: datetime) -> None:
        consent = self.session.get(Consent, (user_id, client_id))
        if consent is None:
            self.session.add(
                Consent(
                    user_id=user_id,
                    client_id=client_id,
                    scope=" ".join(sorted(scopes)),
                    created_at=now,
                    updated_at=now,
                )
            )
        else:
            consent.scope = " ".join(sorted(set(consent.scope.split()) | scopes))
            consent.updated_at = now

    def list_for_user(self, user_id: str) -> list[tuple[str, str, str]]:
        """(client id, client name, granted scope) of each app the user consented to."""
        stmt = (
            select(Consent.client_id, Client.name, Consent.scope)
            .join(Client, Client.client_id == Consent.client_id)
            .where(Consent.user_id == user_id)
            .order_by(Client.name, Consent.client_id)
        )
        return [(row[0], row[1], row[2]) for row in self.session.execute(stmt)]

    def revoke(self, user_id: str, client_id: str) -> None:
        self.session.execute(
            delete(Consent).where(Consent.user_id == user_id, Consent.client_id == client_id)
        )
