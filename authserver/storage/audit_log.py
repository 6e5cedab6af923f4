"""The audit log table."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from authserver.storage.models import AuditEvent


class AuditLogRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(
        self,
        *,
        at: datetime,
        event: str,
        user_id: str | None = None,
        client_id: str | None = None,
        ip: str | None = None,
        user_agent: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.session.add(
            AuditEvent(
                at=at,
                event=event,
                user_id=user_id,
                client_id=client_id,
                ip=ip,
                user_agent=(user_agent or "")[:512] or None,
                details=details or {},
            )
        )

    def oldest_first(
        self,
        *,
        user_id: str | None = None,
        client_id: str | None = None,
        event: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        batch: int = 1000,
    ) -> Iterator[AuditEvent]:
        """Every matching event, oldest first, read ``batch`` rows at a time."""
        after_id = 0
        while True:
            stmt = select(AuditEvent).where(AuditEvent.id > after_id)
            stmt = _filtered(stmt, user_id, client_id, event, since, until)
            rows = self.session.scalars(stmt.order_by(AuditEvent.id).limit(batch)).all()
            yield from rows
            if len(rows) < batch:
                return
            after_id = rows[-1].id
            self.session.expunge_all()

    def query(
        self,
        *,
        user_id: str | None = None,
        client_id: str | None = None,
        event: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        before_id: int | None = None,
    ) -> Sequence[AuditEvent]:
        """Newest first; ``before_id`` pages backwards."""
        stmt = _filtered(select(AuditEvent), user_id, client_id, event, since, until)
        if before_id is not None:
            stmt = stmt.where(AuditEvent.id < before_id)
        stmt = stmt.order_by(AuditEvent.id.desc()).limit(limit)
        return self.session.scalars(stmt).all()

    def count_by_event(self, since: datetime, events: Sequence[str]) -> dict[str, int]:
        """How many of each of ``events`` happened since ``since`` (one grouped query)."""
        stmt = (
            select(AuditEvent.event, func.count())
            .where(AuditEvent.at >= since, AuditEvent.event.in_(list(events)))
            .group_by(AuditEvent.event)
        )
        counts = {event: 0 for event in events}
        counts.update({str(event): int(n) for event, n in self.session.execute(stmt)})
        return counts

    def purge(self, before: datetime) -> int:
        """Delete events older than ``before``."""
        result = self.session.execute(delete(AuditEvent).where(AuditEvent.at < before))
        return int(result.rowcount)  # type: ignore[attr-defined]


def _filtered(
    stmt: Select[tuple[AuditEvent]],
    user_id: str | None,
    client_id: str | None,
    event: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Select[tuple[AuditEvent]]:
    if user_id is not None:
        stmt = stmt.where(AuditEvent.user_id == user_id)
    if client_id is not None:
        stmt = stmt.where(AuditEvent.client_id == client_id)
    if event is not None:
        stmt = stmt.where(AuditEvent.event == event)
    if since is not None:
        stmt = stmt.where(AuditEvent.at >= since)
    if until is not None:
        stmt = stmt.where(AuditEvent.at < until)
    return stmt
