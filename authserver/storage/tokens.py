"""Token families, refresh tokens, access-token records and the database deny list."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from authserver.storage.models import (
    AccessTokenRecord,
    Client,
    DeniedToken,
    RefreshToken,
    TokenFamily,
    User,
)


@dataclass(frozen=True)
class AccessTokenState:
    """What the database knows about one access token beyond its signature."""

    # The user (or, for client_credentials, the client) and the client still exist.
    subject_exists: bool
    tokens_valid_after: int = 0
    user_disabled: bool = False
    family_revoked: bool = False


class TokenRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- families -------------------------------------------------------------------

    def create_family(
        self,
        *,
        client_id: str,
        user_id: str,
        scope: str,
        auth_time: datetime,
        now: datetime,
        lifetime: timedelta,
        login_session_id: str | None = None,
    ) -> TokenFamily:
        family = TokenFamily(
            id=str(uuid.uuid4()),
            client_id=client_id,
            user_id=user_id,
            login_session_id=login_session_id,
            scope=scope,
            auth_time=auth_time,
            created_at=now,
            expires_at=now + lifetime,
        )
        self.session.add(family)
        self.session.flush()  # before the token rows that reference it
        return family

    def get_family(self, family_id: str) -> TokenFamily | None:
        return self.session.get(TokenFamily, family_id)

    def revoke_family(self, family_id: str, reason: str, now: datetime) -> bool:
        """Revoke one family (its refresh tokens and, through it, its access tokens)."""
        result = self.session.execute(
            update(TokenFamily)
            .where(TokenFamily.id == family_id, TokenFamily.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason=reason)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def revoke_user_families(self, user_id: str, reason: str, now: datetime) -> int:
        result = self.session.execute(
            update(TokenFamily)
            .where(TokenFamily.user_id == user_id, TokenFamily.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason=reason)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def revoke_login_session_families(
        self, login_session_id: str, reason: str, now: datetime
    ) -> int:
        result = self.session.execute(
            update(TokenFamily)
            .where(
                TokenFamily.login_session_id == login_session_id,
                TokenFamily.revoked_at.is_(None),
            )
            .values(revoked_at=now, revoked_reason=reason)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    # --- refresh tokens ----------------------------------------------------------------

    def add_refresh_token(self, family_id: str, token_hash: str, now: datetime) -> None:
        self.session.add(RefreshToken(token_hash=token_hash, family_id=family_id, created_at=now))

    def find_refresh_token(self, token_hash: str) -> tuple[RefreshToken, TokenFamily] | None:
        stmt = (
            select(RefreshToken, TokenFamily)
            .join(TokenFamily, TokenFamily.id == RefreshToken.family_id)
            .where(RefreshToken.token_hash == token_hash)
        )
        row = self.session.execute(stmt).first()
        return None if row is None else (row[0], row[1])

    def mark_used(self, token_hash: str, now: datetime) -> bool:
        """Claim a refresh token for rotation: one atomic conditional UPDATE.

        Exactly one of any number of concurrent callers (on any process) gets True; the
        row lock (PostgreSQL) or database lock (SQLite) serialises them and the
        ``used_at IS NULL`` condition is re-checked by the loser, which gets False.
        """
        result = self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.token_hash == token_hash, RefreshToken.used_at.is_(None))
            .values(used_at=now)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]

    # --- access tokens -------------------------------------------------------------------

    def record_access_token(
        self,
        *,
        jti: str,
        client_id: str,
        expires_at: datetime,
        user_id: str | None = None,
        family_id: str | None = None,
    ) -> None:
        self.session.add(
            AccessTokenRecord(
                jti=jti,
                family_id=family_id,
                user_id=user_id,
                client_id=client_id,
                expires_at=expires_at,
            )
        )

    def access_token_state(self, jti: str, subject: str, client_id: str) -> AccessTokenState:
        """The revocation-relevant state of an access token, in one query: its client,
        its user (when the subject is a user) and the family it was issued in."""
        client_exists = select(Client.client_id).where(Client.client_id == client_id).exists()
        stmt = (
            select(User.tokens_valid_after, User.disabled_at, TokenFamily.revoked_at, client_exists)
            .select_from(User)
            .outerjoin(AccessTokenRecord, AccessTokenRecord.jti == jti)
            .outerjoin(TokenFamily, TokenFamily.id == AccessTokenRecord.family_id)
            .where(User.id == subject)
        )
        row = self.session.execute(stmt).first()
        if row is not None:
            return AccessTokenState(
                subject_exists=bool(row[3]),
                tokens_valid_after=row[0] or 0,
                user_disabled=row[1] is not None,
                family_revoked=row[2] is not None,
            )
        # No such user: a client_credentials token, whose subject is its client.
        exists = subject == client_id and self.session.scalar(select(client_exists)) is True
        return AccessTokenState(subject_exists=exists)

    # --- deny list (embedded mode) ----------------------------------------------------

    def deny(self, jti: str, expires_at: datetime) -> None:
        values = {"jti": jti, "expires_at": expires_at}
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        self.session.execute(insert(DeniedToken).values(values).on_conflict_do_nothing())

    def is_denied(self, jti: str, now: datetime) -> bool:
        stmt = select(DeniedToken.jti).where(DeniedToken.jti == jti, DeniedToken.expires_at > now)
        return self.session.scalar(stmt) is not None

    # --- housekeeping --------------------------------------------------------------------

    def purge_expired(self, now: datetime) -> int:
        """Delete rows that can no longer matter: expired families (with their tokens),
        expired access-token records and deny-list entries."""
        n = 0
        for stmt in (
            delete(TokenFamily).where(TokenFamily.expires_at < now),
            delete(AccessTokenRecord).where(AccessTokenRecord.expires_at < now),
            delete(DeniedToken).where(DeniedToken.expires_at < now),
        ):
            n += int(self.session.execute(stmt).rowcount)  # type: ignore[attr-defined]
        return n
