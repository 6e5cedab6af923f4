"""Server-side login sessions (the browser cookie holds a secret; only its hash is here)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, delete, or_, select, update
from sqlalchemy.orm import Session

from authserver.storage.models import LoginSession


class LoginSessionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, login_session: LoginSession) -> None:
        self.session.add(login_session)

    def get(self, session_id: str) -> LoginSession | None:
        return self.session.get(LoginSession, session_id)

    def find_by_secret_hash(self, secret_hash: str) -> LoginSession | None:
        stmt = select(LoginSession).where(LoginSession.secret_hash == secret_hash)
        return self.session.scalars(stmt).first()

    def list_active(self, user_id: str, now: datetime) -> Sequence[LoginSession]:
        stmt = (
            select(LoginSession)
            .where(
                LoginSession.user_id == user_id,
                LoginSession.ended_at.is_(None),
                LoginSession.expires_at > now,
            )
            .order_by(LoginSession.last_seen_at.desc())
        )
        return self.session.scalars(stmt).all()

    def touch(self, session_id: str, now: datetime) -> None:
        self.session.execute(
            update(LoginSession).where(LoginSession.id == session_id).values(last_seen_at=now)
        )

    def end(self, session_id: str, now: datetime) -> bool:
        result = self.session.execute(
            update(LoginSession)
            .where(LoginSession.id == session_id, LoginSession.ended_at.is_(None))
            .values(ended_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def end_all(self, user_id: str, now: datetime) -> int:
        """End every open session of a user, in one statement whatever their number;
        returns how many."""
        result = self.session.execute(
            update(LoginSession)
            .where(LoginSession.user_id == user_id, LoginSession.ended_at.is_(None))
            .values(ended_at=now)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def live_beyond(
        self, user_id: str, keep: int, now: datetime, idle_since: datetime
    ) -> Select[tuple[str]]:
        """The ids of a user's live sessions past the ``keep`` most recently used: a
        subquery, so what is done with them is one statement however many there are."""
        self.session.flush()  # sessions added in this transaction count (no autoflush here)
        return (
            select(LoginSession.id)
            .where(
                LoginSession.user_id == user_id,
                LoginSession.ended_at.is_(None),
                LoginSession.expires_at > now,
                LoginSession.last_seen_at > idle_since,
            )
            .order_by(LoginSession.last_seen_at.desc(), LoginSession.created_at.desc())
            .offset(keep)
        )

    def end_where(self, ids: Select[tuple[str]], now: datetime) -> int:
        result = self.session.execute(
            update(LoginSession)
            .where(LoginSession.id.in_(ids), LoginSession.ended_at.is_(None))
            .values(ended_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def purge(self, before: datetime, idle_before: datetime) -> int:
        """Delete sessions that ended, expired or went idle before the given times."""
        result = self.session.execute(
            delete(LoginSession).where(
                or_(
                    LoginSession.ended_at < before,
                    LoginSession.expires_at < before,
                    LoginSession.last_seen_at < idle_before,
                )
            )
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
