"""Authorization codes: single use, short-lived, looked up by hash.

The exchange (RFC 6749 §4.1.3) is two fixed Core statements: one read of the code, its
user and the upstream provider's session cap (``FIND_FOR_EXCHANGE``), and, once every
check has passed and the tokens are signed, one claim that stores what was issued
(``exchange``: on PostgreSQL a single data-modifying WITH, so the claim, the family and
the token records are one round trip; ``storage.pg_loop_codes`` sends the same two on
the event loop)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, null, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from authserver.storage import pg_direct
from authserver.storage.models import (
    AccessTokenRecord,
    AuthorizationCode,
    ExternalIdentity,
    IdentityProvider,
    LoginSession,
    RefreshToken,
    TokenFamily,
    User,
)
from authserver.storage.tokens import INSERT_ACCESS, INSERT_FAMILY, INSERT_REFRESH

_codes = AuthorizationCode.__table__
_users = User.__table__
_sessions = LoginSession.__table__
_identities = ExternalIdentity.__table__
_providers = IdentityProvider.__table__
_families = TokenFamily.__table__
_access = AccessTokenRecord.__table__
_refresh = RefreshToken.__table__
_USER_COLUMNS = (
    _users.c.email,
    _users.c.roles,
    _users.c.disabled_at,
    _users.c.name,
    _users.c.email_verified,
    _users.c.updated_at,
)
# The exchange reads the code and its user in one Core query (no identity map, no ORM
# loading): what the grant, PKCE and the ID token need -- and, for a login that came
# through an upstream provider, that provider's policy (its `max_session_seconds` caps
# the family's lifetime): three primary-key outer joins instead of three more reads.
FIND_FOR_EXCHANGE = (
    select(*_codes.c, *_USER_COLUMNS, _providers.c.policy)
    .join(_users, _users.c.id == _codes.c.user_id)
    .outerjoin(_sessions, _sessions.c.id == _codes.c.login_session_id)
    .outerjoin(_identities, _identities.c.id == _sessions.c.identity_id)
    .outerjoin(_providers, _providers.c.id == _identities.c.provider_id)
    .where(_codes.c.code_hash == bindparam("h"))
)
_CODE_FIELDS = tuple(c.key for c in _codes.c)  # ``CodeRow``'s fields
_USER_FIELDS = tuple(c.key for c in _USER_COLUMNS)
# Built once (the exchange is on the token hot path): an ORM UPDATE per request spent more
# on statement building and identity-map synchronisation than on the database.
MARK_USED = (
    update(_codes)
    .where(_codes.c.code_hash == bindparam("h"), _codes.c.used_at.is_(None))
    .values(used_at=bindparam("now"), family_id=bindparam("family_id"))
)
# PostgreSQL: the claim as a data-modifying WITH and, for the row it claimed, the family
# and the records of what was issued. PostgreSQL runs each data-modifying WITH once, to
# completion, on its input: no claim, nothing inserted (the foreign keys are checked at
# the end of the statement, so the records may name the family inserted beside them).
_claimed = MARK_USED.returning(_codes.c.code_hash).cte("claimed")
FAMILY_COLUMNS = (
    _families.c.id,
    _families.c.client_id,
    _families.c.user_id,
    _families.c.login_session_id,
    _families.c.scope,
    _families.c.auth_time,
    _families.c.amr,
    _families.c.created_at,
    _families.c.expires_at,
)
_family = (
    insert(_families)
    .from_select(
        [c.key for c in FAMILY_COLUMNS],
        select(*(bindparam(f"f_{c.key}", type_=c.type) for c in FAMILY_COLUMNS)).select_from(
            _claimed
        ),
    )
    .returning(_families.c.id)
    .cte("family")
)
_issued_access = (
    insert(_access)
    .from_select(
        ["jti", "family_id", "user_id", "client_id", "expires_at"],
        select(
            bindparam("jti", type_=_access.c.jti.type),
            _family.c.id,
            bindparam("f_user_id", type_=_access.c.user_id.type),
            bindparam("f_client_id", type_=_access.c.client_id.type),
            bindparam("access_expires_at", type_=_access.c.expires_at.type),
        ),
    )
    .cte("issued_access")
)
_issued_refresh = (
    insert(_refresh)
    .from_select(
        ["token_hash", "family_id", "created_at"],
        select(
            bindparam("refresh_hash", type_=_refresh.c.token_hash.type),
            _family.c.id,
            bindparam("f_created_at", type_=_refresh.c.created_at.type),
        ),
    )
    .cte("issued_refresh")
)
_exchanged = select(func.count()).select_from(_claimed)
EXCHANGE_PG = _exchanged.add_cte(_family, _issued_access)
EXCHANGE_WITH_REFRESH_PG = _exchanged.add_cte(_family, _issued_access, _issued_refresh)
# An exchange undone (its request failed after it committed on its own, on the event
# loop): the family deleted (its token records with it: ON DELETE CASCADE) and the code
# released -- unless the family was revoked meanwhile: a replay in the moment after the
# commit was refused and revoked what the claim issued (RFC 6749 §4.1.2), so the code
# stays used and the family revoked, and the code is never exchanged after its replay.
# The DELETE decides (it waits for a concurrent revocation's row lock and sees its
# outcome); the code is released only for the family it deleted. One statement, so on
# its own it is all or nothing too.
_undone = (
    delete(_families)
    .where(_families.c.id == bindparam("family_id"), _families.c.revoked_at.is_(None))
    .returning(_families.c.id)
    .cte("undone")
)
UNDO_EXCHANGE_PG = (
    update(_codes)
    .where(
        _codes.c.code_hash == bindparam("h"),
        _codes.c.family_id.in_(select(_undone.c.id)),
    )
    .values(used_at=null(), family_id=null())
)


@dataclass(frozen=True, slots=True)
class CodeRow:
    """A stored code as the exchange reads it: a plain row, not an ORM instance (setting
    the fifteen instrumented attributes of one cost more than the read's round trip)."""

    code_hash: str
    client_id: str
    user_id: str
    login_session_id: str | None
    redirect_uri: str | None
    scope: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: datetime
    amr: list[str] | None
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    family_id: str | None


@dataclass(frozen=True)
class CodeForExchange:
    """A code, its user (detached: not in any session) and the family lifetime cap of
    the upstream provider the login came through (None: none, or no cap)."""

    code: CodeRow
    user: User
    lifetime_cap: int | None


@dataclass(frozen=True)
class Issued:
    """What an exchange stores when it claims its code: the new family, the access
    token's record and, when one was issued, the refresh token's hash."""

    family_id: str
    client_id: str
    user_id: str
    login_session_id: str | None
    scope: str
    auth_time: datetime
    amr: list[str] | None
    created_at: datetime
    expires_at: datetime  # the family's (absolute)
    jti: str
    access_expires_at: datetime
    refresh_token_hash: str | None


def session_cap(policy: dict[str, Any] | None) -> int | None:
    """A provider policy's `max_session_seconds` (``federation.config.Policy``)."""
    cap = (policy or {}).get("max_session_seconds")
    return int(cap) if isinstance(cap, int) else None


def found_for_exchange(row: Any) -> CodeForExchange:
    """``FIND_FOR_EXCHANGE``'s row as the grant reads it."""
    n, m = len(_CODE_FIELDS), len(_CODE_FIELDS) + len(_USER_FIELDS)
    code = CodeRow(**dict(zip(_CODE_FIELDS, row[:n], strict=True)))
    user = User(id=code.user_id, **dict(zip(_USER_FIELDS, row[n:m], strict=True)))
    return CodeForExchange(code, user, session_cap(row[m]))


def exchange_statement(code_hash: str, issued: Issued) -> tuple[Executable, dict[str, Any]]:
    """The PostgreSQL exchange statement for ``issued`` and its parameters as the driver
    takes them (``storage.pg_direct``: JSON serialised as its column type would)."""
    params: dict[str, Any] = {
        "h": code_hash,
        "now": issued.created_at,
        "family_id": issued.family_id,
        "f_id": issued.family_id,
        "f_client_id": issued.client_id,
        "f_user_id": issued.user_id,
        "f_login_session_id": issued.login_session_id,
        "f_scope": issued.scope,
        "f_auth_time": issued.auth_time,
        "f_amr": json.dumps(issued.amr),  # SQLAlchemy's JSON: None as JSON null
        "f_created_at": issued.created_at,
        "f_expires_at": issued.expires_at,
        "jti": issued.jti,
        "access_expires_at": issued.access_expires_at,
    }
    if issued.refresh_token_hash is None:
        return EXCHANGE_PG, params
    return EXCHANGE_WITH_REFRESH_PG, {**params, "refresh_hash": issued.refresh_token_hash}


class AuthorizationCodeRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, code: AuthorizationCode) -> None:
        self.session.add(code)

    def get(self, code_hash: str) -> AuthorizationCode | None:
        return self.session.get(AuthorizationCode, code_hash)

    def find_for_exchange(self, code_hash: str) -> CodeForExchange | None:
        """The code, its user and the provider's lifetime cap, in one query."""
        conn = self.session.connection()
        params = {"h": code_hash}
        row: Any
        if conn.dialect.name == "postgresql":
            row = pg_direct.first(conn, FIND_FOR_EXCHANGE, params)
        else:
            row = conn.execute(FIND_FOR_EXCHANGE, params).first()
        return None if row is None else found_for_exchange(row)

    def mark_used(self, code_hash: str, family_id: str | None, now: datetime) -> bool:
        """Consume a code atomically: True for exactly one caller (RFC 6749 §4.1.2)."""
        params = {"h": code_hash, "now": now, "family_id": family_id}
        result = self.session.connection().execute(MARK_USED, params)
        return result.rowcount == 1  # type: ignore[attr-defined]

    def exchange(self, code_hash: str, issued: Issued) -> bool:
        """Consume a code and store what its exchange issued: True for exactly one of
        concurrent callers, on any process (the conditional UPDATE and its row lock, RFC
        6749 §4.1.2); on False nothing was stored. One statement on PostgreSQL."""
        conn = self.session.connection()
        if conn.dialect.name == "postgresql":
            row = pg_direct.first(conn, *exchange_statement(code_hash, issued))
            return row is not None and row[0] == 1
        if not self.mark_used(code_hash, issued.family_id, issued.created_at):
            return False
        family = {c.key: getattr(issued, c.key) for c in FAMILY_COLUMNS if c.key != "id"}
        conn.execute(INSERT_FAMILY, {**family, "id": issued.family_id})
        access = {
            "jti": issued.jti,
            "family_id": issued.family_id,
            "user_id": issued.user_id,
            "client_id": issued.client_id,
            "expires_at": issued.access_expires_at,
        }
        conn.execute(INSERT_ACCESS, access)
        if issued.refresh_token_hash is not None:
            refresh = {"family_id": issued.family_id, "created_at": issued.created_at}
            conn.execute(INSERT_REFRESH, {**refresh, "token_hash": issued.refresh_token_hash})
        return True

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
