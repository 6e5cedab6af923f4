"""Remembered consent, per user and client."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from authserver.storage.models import Consent


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

    def revoke(self, user_id: str, client_id: str) -> None:
        self.session.execute(
            delete(Consent).where(Consent.user_id == user_id, Consent.client_id == client_id)
        )
