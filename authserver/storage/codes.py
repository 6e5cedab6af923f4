"""Authorization codes: single use, short-lived, looked up by hash."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from authserver.storage.models import AuthorizationCode, User

_codes = AuthorizationCode.__table__
_users = User.__table__
_USER_COLUMNS = (
    _users.c.email,
    _users.c.roles,
    _users.c.disabled_at,
    _users.c.name,
    _users.c.email_verified,
    _users.c.updated_at,
)
# The exchange reads the code and its user in one Core query (no identity map, no ORM
# loading): what the grant, PKCE and the ID token need.
FIND_FOR_EXCHANGE = (
    select(*_codes.c, *_USER_COLUMNS)
    .join(_users, _users.c.id == _codes.c.user_id)
    .where(_codes.c.code_hash == bindparam("h"))
)
_CODE_FIELDS = tuple(c.key for c in _codes.c)
_USER_FIELDS = tuple(c.key for c in _USER_COLUMNS)
# Built once (the exchange is on the token hot path): an ORM UPDATE per request spent more
# on statement building and identity-map synchronisation than on the database.
MARK_USED = (
    update(_codes)
    .where(_codes.c.code_hash == bindparam("h"), _codes.c.used_at.is_(None))
    .values(used_at=bindparam("now"), family_id=bindparam("family_id"))
)


class AuthorizationCodeRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, code: AuthorizationCode) -> None:
        self.session.add(code)

    def get(self, code_hash: str) -> AuthorizationCode | None:
        return self.session.get(AuthorizationCode, code_hash)

    def find_for_exchange(self, code_hash: str) -> tuple[AuthorizationCode, User] | None:
        """The code and its user, in one query; both detached (not in the session)."""
        row = self.session.connection().execute(FIND_FOR_EXCHANGE, {"h": code_hash}).first()
        if row is None:
            return None
        n = len(_CODE_FIELDS)
        code = AuthorizationCode(**dict(zip(_CODE_FIELDS, row[:n], strict=True)))
        user = User(id=code.user_id, **dict(zip(_USER_FIELDS, row[n:], strict=True)))
        return code, user

    def mark_used(self, code_hash: str, family_id: str | None, now: datetime) -> bool:
        """Consume a code atomically: True for exactly one caller (RFC 6749 §4.1.2)."""
        params = {"h": code_hash, "now": now, "family_id": family_id}
        result = self.session.connection().execute(MARK_USED, params)
        return result.rowcount == 1  # type: ignore[attr-defined]

    def family_of(self, code_hash: str) -> str | None:
        """The family a code's exchange created, as committed (not the identity map's copy)."""
        return self.session.scalar(
            select(AuthorizationCode.family_id).where(AuthorizationCode.code_hash == code_hash)
        )

    def nonce_used(self, client_id: str, nonce: str) -> bool:
        stmt = select(AuthorizationCode.code_hash).where(
            AuthorizationCode.client_id == client_id, AuthorizationCode.nonce == nonce
        )
        return self.session.scalars(stmt.limit(1)).first() is not None

    def purge(self, before: datetime) -> int:
        """Delete codes that expired before ``before`` (used or not)."""
        result = self.session.execute(
            delete(AuthorizationCode).where(AuthorizationCode.expires_at < before)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
