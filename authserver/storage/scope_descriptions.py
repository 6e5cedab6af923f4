"""Operator-written descriptions of scopes (for the consent page)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from authserver.storage.models import ScopeDescription


class ScopeDescriptionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, scope: str) -> ScopeDescription | None:
        return self.session.get(ScopeDescription, scope)

    def texts_for(self, scopes: Collection[str]) -> dict[str, dict[str, Any]]:
        """``{scope: texts}`` for those of ``scopes`` that have descriptions."""
        if not scopes:
            return {}
        rows = self.session.scalars(
            select(ScopeDescription).where(ScopeDescription.scope.in_(list(scopes)))
        )
        return {row.scope: dict(row.texts) for row in rows}

    def list(self) -> Sequence[ScopeDescription]:
        return self.session.scalars(select(ScopeDescription).order_by(ScopeDescription.scope)).all()

    def put(self, scope: str, texts: dict[str, Any], now: datetime) -> ScopeDescription:
        row = self.session.get(ScopeDescription, scope)
        if row is None:
            row = ScopeDescription(scope=scope, texts=texts, updated_at=now)
            self.session.add(row)
        else:
            row.texts, row.updated_at = texts, now
        return row

    def delete(self, scope: str) -> bool:
        result = self.session.execute(
            delete(ScopeDescription).where(ScopeDescription.scope == scope)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
