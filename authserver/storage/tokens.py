"""Token families, refresh tokens, access-token records and the database deny list."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    bindparam,
    delete,
    insert,
    null,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from authserver.storage import pg_direct
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


@dataclass(frozen=True)
class TokenRow:
    token_hash: str
    created_at: datetime
    used_at: datetime | None


@dataclass(frozen=True)
class FamilyRow:
    id: str
    client_id: str
    user_id: str
    login_session_id: str | None
    scope: str
    auth_time: datetime
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    amr: list[str] | None


@dataclass(frozen=True)
class Successor:
    """What a rotation stores, chosen before its claim so that one statement can claim the
    presented token and store these (``rotate_refresh_token``)."""

    token_hash: str  # the new refresh token's
    jti: str  # the new access token's
    expires_at: datetime  # its record's: no earlier than the token's `exp`


@dataclass(frozen=True)
class RefreshTokenRow:
    token: TokenRow
    family: FamilyRow
    # Detached (not in the session): the fields a grant needs, read in the same query.
    user: User


# Statements on the token hot path are built once, with bind parameters: building a
# SQLAlchemy statement (and its cache key) per request costs more than running it.
_families = TokenFamily.__table__
_refresh = RefreshToken.__table__
_access = AccessTokenRecord.__table__
_users = User.__table__

INSERT_FAMILY = insert(_families)
INSERT_REFRESH = insert(_refresh)
INSERT_ACCESS = insert(_access)
FIND_REFRESH = (
    select(
        _refresh.c.token_hash,
        _refresh.c.created_at,
        _refresh.c.used_at,
        _families.c.id,
        _families.c.client_id,
        _families.c.user_id,
        _families.c.login_session_id,
        _families.c.scope,
        _families.c.auth_time,
        _families.c.created_at,
        _families.c.expires_at,
        _families.c.revoked_at,
        _families.c.amr,
        _users.c.email,
        _users.c.roles,
        _users.c.disabled_at,
    )
    .join(_families, _families.c.id == _refresh.c.family_id)
    .join(_users, _users.c.id == _families.c.user_id)
    .where(_refresh.c.token_hash == bindparam("token_hash"))
)
# The family and user columns a rotation reads, in ``FamilyRow`` / ``user_of`` order.
_FAMILY_COLUMNS = (
    _families.c.id,
    _families.c.client_id,
    _families.c.user_id,
    _families.c.login_session_id,
    _families.c.scope,
    _families.c.auth_time,
    _families.c.created_at,
    _families.c.expires_at,
    _families.c.revoked_at,
    _families.c.amr,
)
_USER_COLUMNS = (
    _users.c.email,
    _users.c.roles,
    _users.c.disabled_at,
    _users.c.name,
    _users.c.email_verified,
    _users.c.updated_at,
)
# Claiming a refresh token for rotation is one statement that reads what the grant needs:
# the token is marked used only if it is unused, its family belongs to the presenting
# client, is neither revoked nor expired, and its user is not disabled. PostgreSQL joins
# the family and user in UPDATE ... FROM and returns their columns; SQLite's RETURNING
# cannot name a FROM table (https://sqlite.org/lang_returning.html), so it checks them in
# an EXISTS and returns them as scalar subqueries (primary-key lookups, same statement).
_claim_conditions = (
    _families.c.id == _refresh.c.family_id,
    _families.c.client_id == bindparam("client_id"),
    _families.c.revoked_at.is_(None),
    _families.c.expires_at > bindparam("now"),
    _users.c.id == _families.c.user_id,
    _users.c.disabled_at.is_(None),
)
_claim = (
    update(_refresh)
    .where(_refresh.c.token_hash == bindparam("h"), _refresh.c.used_at.is_(None))
    .values(used_at=bindparam("now"))
)
CLAIM_REFRESH_PG = _claim.where(*_claim_conditions).returning(
    _refresh.c.created_at, *_FAMILY_COLUMNS, *_USER_COLUMNS
)


# SQLAlchemy renders SQLite's RETURNING without table names (also inside subqueries,
# where `id` would be ambiguous), so this one is written out; the column types still
# convert the results.
_SQLITE_FAMILY = "SELECT f.{} FROM token_families f WHERE f.id = refresh_tokens.family_id"
_SQLITE_USER = (
    "SELECT u.{} FROM token_families f JOIN users u ON u.id = f.user_id"
    " WHERE f.id = refresh_tokens.family_id"
)
# (Built from our own column names, at import.)
CLAIM_REFRESH_SQLITE = (
    text(
        "UPDATE refresh_tokens SET used_at = :now"  # noqa: S608
        " WHERE refresh_tokens.token_hash = :h AND refresh_tokens.used_at IS NULL"
        " AND EXISTS (SELECT 1 FROM token_families f JOIN users u ON u.id = f.user_id"
        " WHERE f.id = refresh_tokens.family_id AND f.client_id = :client_id"
        " AND f.revoked_at IS NULL AND f.expires_at > :now AND u.disabled_at IS NULL)"
        " RETURNING refresh_tokens.created_at, "
        + ", ".join(
            [f"({_SQLITE_FAMILY.format(c.name)}) AS f_{c.name}" for c in _FAMILY_COLUMNS]
            + [f"({_SQLITE_USER.format(c.name)}) AS u_{c.name}" for c in _USER_COLUMNS]
        )
    )
    .bindparams(
        bindparam("now", type_=_refresh.c.used_at.type),
    )
    .columns(
        _refresh.c.created_at,
        *(c.label(f"f_{c.name}") for c in _FAMILY_COLUMNS),
        *(c.label(f"u_{c.name}") for c in _USER_COLUMNS),
    )
)
RELEASE_REFRESH = (
    update(_refresh).where(_refresh.c.token_hash == bindparam("h")).values(used_at=null())
)
REVOKE_FAMILY = (
    update(_families)
    .where(_families.c.id == bindparam("family_id"), _families.c.revoked_at.is_(None))
    .values(revoked_at=bindparam("now"), revoked_reason=bindparam("reason"))
)
_client_exists = (
    select(Client.__table__.c.client_id)
    .where(Client.__table__.c.client_id == bindparam("client_id"))
    .exists()
)
ACCESS_TOKEN_STATE = (
    select(
        _users.c.tokens_valid_after, _users.c.disabled_at, _families.c.revoked_at, _client_exists
    )
    .select_from(_users)
    .outerjoin(_access, _access.c.jti == bindparam("jti"))
    .outerjoin(_families, _families.c.id == _access.c.family_id)
    .where(_users.c.id == bindparam("subject"))
)
CLIENT_EXISTS = select(_client_exists)
# A user grant's access-token record and its refresh token in one statement: PostgreSQL
# runs a data-modifying WITH to completion whether or not the main statement reads it, so
# the two rows cost one round trip instead of two. (SQLite has no such WITH; it has no
# round trips either, and gets the two plain inserts.)
INSERT_ACCESS_AND_REFRESH = (
    insert(_refresh)
    .values(
        token_hash=bindparam("token_hash"),
        family_id=bindparam("family_id"),
        created_at=bindparam("created_at"),
    )
    .add_cte(
        insert(_access)
        .values(
            jti=bindparam("jti"),
            family_id=bindparam("family_id"),
            user_id=bindparam("user_id"),
            client_id=bindparam("client_id"),
            expires_at=bindparam("expires_at"),
        )
        .cte("issued_access")
    )
)
# A rotation in one statement (PostgreSQL): the claim above as a data-modifying WITH,
# and, for the row it claimed, the access-token record and the successor refresh token
# (both chosen before: ``Successor``). PostgreSQL runs each data-modifying WITH exactly
# once, to completion, on the claim's output: no claim, nothing inserted. Returns the
# claim's columns, in its order.
_claimed_cte = CLAIM_REFRESH_PG.cte("claimed")
ROTATE_REFRESH_PG = select(*_claimed_cte.c).add_cte(
    insert(_access)
    .from_select(
        ["jti", "family_id", "user_id", "client_id", "expires_at"],
        select(
            bindparam("jti", type_=_access.c.jti.type),
            _claimed_cte.c.id,
            _claimed_cte.c.user_id,
            _claimed_cte.c.client_id,
            bindparam("expires_at", type_=_access.c.expires_at.type),
        ),
    )
    .cte("issued_access"),
    insert(_refresh)
    .from_select(
        ["token_hash", "family_id", "created_at"],
        select(
            bindparam("successor", type_=_refresh.c.token_hash.type),
            _claimed_cte.c.id,
            bindparam("now", type_=_refresh.c.created_at.type),
        ),
    )
    .cte("successor"),
)
# A rotation undone (the request refused after it): the claim released, the two rows
# it stored deleted. One statement, so on its own (autocommit) it is all or nothing too.
UNDO_ROTATION_PG = RELEASE_REFRESH.add_cte(
    delete(_access).where(_access.c.jti == bindparam("jti")).cte("undone_access"),
    delete(_refresh).where(_refresh.c.token_hash == bindparam("successor")).cte("undone_successor"),
)
_denied = DeniedToken.__table__
IS_DENIED = select(_denied.c.jti).where(
    _denied.c.jti == bindparam("jti"), _denied.c.expires_at > bindparam("now")
)


def _claimed(token_hash: str, row: tuple[Any, ...] | Any) -> RefreshTokenRow:
    """A claim's returned row (``CLAIM_REFRESH_*``'s columns) as the grant reads it."""
    family = FamilyRow(*row[1:11])
    return RefreshTokenRow(
        token=TokenRow(token_hash, row[0], None),  # as presented: unused
        family=family,
        user=User(
            id=family.user_id,
            email=row[11],
            roles=row[12],
            disabled_at=row[13],
            name=row[14],
            email_verified=row[15],
            updated_at=row[16],
        ),
    )


class TokenRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def _conn(self) -> Connection:
        return self.session.connection()

    # The hot statements on PostgreSQL go past SQLAlchemy's execution (storage.pg_direct);
    # ``storage.pg_loop`` sends the same ones on the event loop.
    def _is_postgresql(self) -> bool:
        return self._conn.dialect.name == "postgresql"

    def _direct_first(self, stmt: Executable, params: dict[str, Any]) -> tuple[Any, ...] | None:
        return pg_direct.first(self._conn, stmt, params)

    def _direct_execute(self, stmt: Executable, params: dict[str, Any]) -> None:
        pg_direct.execute(self._conn, stmt, params)

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
        family_id: str | None = None,
        amr: list[str] | None = None,
    ) -> str:
        """Start a family; returns its id. (Core inserts: this is on the token hot path.)"""
        family_id = family_id or str(uuid.uuid4())
        self._conn.execute(
            INSERT_FAMILY,
            {
                "id": family_id,
                "client_id": client_id,
                "user_id": user_id,
                "login_session_id": login_session_id,
                "scope": scope,
                "auth_time": auth_time,
                "amr": amr,
                "created_at": now,
                "expires_at": now + lifetime,
            },
        )
        return family_id

    def get_family(self, family_id: str) -> TokenFamily | None:
        return self.session.get(TokenFamily, family_id)

    def revoke_family(self, family_id: str, reason: str, now: datetime) -> bool:
        """Revoke one family (its refresh tokens and, through it, its access tokens)."""
        result = self._conn.execute(
            REVOKE_FAMILY, {"family_id": family_id, "now": now, "reason": reason}
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def revoke_user_families(self, user_id: str, reason: str, now: datetime) -> int:
        result = self.session.execute(
            update(TokenFamily)
            .where(TokenFamily.user_id == user_id, TokenFamily.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason=reason)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def revoke_client_families(
        self, user_id: str, client_id: str, reason: str, now: datetime
    ) -> int:
        """Revoke the user's live families at one client (its access tokens with them)."""
        result = self.session.execute(
            update(TokenFamily)
            .where(
                TokenFamily.user_id == user_id,
                TokenFamily.client_id == client_id,
                TokenFamily.revoked_at.is_(None),
            )
            .values(revoked_at=now, revoked_reason=reason)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def live_family_scopes(self, user_id: str, now: datetime) -> list[tuple[str, str, str]]:
        """(client id, client name, scope) of each live family of the user."""
        stmt = (
            select(Client.client_id, Client.name, TokenFamily.scope)
            .join(Client, Client.client_id == TokenFamily.client_id)
            .where(
                TokenFamily.user_id == user_id,
                TokenFamily.revoked_at.is_(None),
                TokenFamily.expires_at > now,
            )
            .order_by(TokenFamily.created_at)
        )
        return [(row[0], row[1], row[2]) for row in self.session.execute(stmt)]

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

    def revoke_families_of_sessions(
        self, login_session_ids: Select[tuple[str]], reason: str, now: datetime
    ) -> int:
        """Revoke the live families of the sessions a subquery selects."""
        result = self.session.execute(
            update(TokenFamily)
            .where(
                TokenFamily.login_session_id.in_(login_session_ids),
                TokenFamily.revoked_at.is_(None),
            )
            .values(revoked_at=now, revoked_reason=reason)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def active_grants(self, user_id: str, now: datetime) -> list[tuple[str | None, str, str]]:
        """(login session id or None, client id, client name) of each live family of a
        user: which apps each session signed in to (the account page)."""
        stmt = (
            select(TokenFamily.login_session_id, Client.client_id, Client.name)
            .join(Client, Client.client_id == TokenFamily.client_id)
            .where(
                TokenFamily.user_id == user_id,
                TokenFamily.revoked_at.is_(None),
                TokenFamily.expires_at > now,
            )
            .order_by(TokenFamily.created_at)
        )
        return [(row[0], row[1], row[2]) for row in self.session.execute(stmt)]

    # --- refresh tokens ----------------------------------------------------------------

    def add_refresh_token(self, family_id: str, token_hash: str, now: datetime) -> None:
        self._conn.execute(
            INSERT_REFRESH, {"token_hash": token_hash, "family_id": family_id, "created_at": now}
        )

    def find_refresh_token(self, token_hash: str) -> RefreshTokenRow | None:
        """The token, its family and the family's user, in one query."""
        row = self._conn.execute(FIND_REFRESH, {"token_hash": token_hash}).first()
        if row is None:
            return None
        return RefreshTokenRow(
            token=TokenRow(row[0], row[1], row[2]),
            family=FamilyRow(*row[3:13]),
            user=User(id=row[5], email=row[13], roles=row[14], disabled_at=row[15]),
        )

    def claim_refresh_token(
        self, token_hash: str, client_id: str, now: datetime
    ) -> RefreshTokenRow | None:
        """Claim a refresh token for rotation and read its family and user: one atomic
        conditional UPDATE ... RETURNING. None unless the token is unused, its family is
        the client's, live and unexpired, and its user not disabled: then nothing changed
        (``find_refresh_token`` tells why). Of concurrent claims, on any process, exactly
        one gets the row: the row lock (PostgreSQL) or the database lock (SQLite)
        serialises them and the loser re-checks ``used_at IS NULL``."""
        params = {"h": token_hash, "client_id": client_id, "now": now}
        row: Any
        if self._is_postgresql():
            row = self._direct_first(CLAIM_REFRESH_PG, params)  # (storage.pg_direct)
        else:
            row = self._conn.execute(CLAIM_REFRESH_SQLITE, params).first()
        return None if row is None else _claimed(token_hash, row)

    def rotation_in_one_statement(self, may_be_refused: bool) -> bool:
        """Whether ``rotate_refresh_token`` is available (PostgreSQL). ``may_be_refused``:
        the request may still be refused after its claim (it names a scope): that matters
        only where a rotation commits on its own (``storage.pg_loop``)."""
        return self._is_postgresql()

    def rotate_refresh_token(
        self, token_hash: str, client_id: str, now: datetime, successor: Successor
    ) -> RefreshTokenRow | None:
        """``claim_refresh_token`` and, when it claims, ``record_issued`` of ``successor``,
        in one statement: one round trip. Undone by ``undo_rotation``."""
        params = {
            "h": token_hash,
            "client_id": client_id,
            "now": now,
            "jti": successor.jti,
            "expires_at": successor.expires_at,
            "successor": successor.token_hash,
        }
        row = self._direct_first(ROTATE_REFRESH_PG, params)
        return None if row is None else _claimed(token_hash, row)

    def undo_rotation(self, token_hash: str, successor: Successor) -> None:
        """Undo this request's rotation (refused after it): the token stays usable, and what
        the rotation stored is gone."""
        params = {"h": token_hash, "jti": successor.jti, "successor": successor.token_hash}
        self._direct_execute(UNDO_ROTATION_PG, params)

    def release_refresh_token(self, token_hash: str) -> None:
        """Undo this transaction's claim (the request failed after it): the token stays
        usable. The claim's lock is still held, so no one else has touched the row."""
        if self._is_postgresql():
            self._direct_execute(RELEASE_REFRESH, {"h": token_hash})
        else:
            self._conn.execute(RELEASE_REFRESH, {"h": token_hash})

    # --- access tokens -------------------------------------------------------------------

    def record_issued(
        self,
        *,
        jti: str,
        client_id: str,
        expires_at: datetime,
        user_id: str,
        family_id: str,
        refresh_token_hash: str | None,
        now: datetime,
    ) -> None:
        """What a user grant issued: the access token's `jti` and, when one was issued,
        the refresh token's hash (one round trip on PostgreSQL)."""
        access = {
            "jti": jti,
            "family_id": family_id,
            "user_id": user_id,
            "client_id": client_id,
            "expires_at": expires_at,
        }
        if refresh_token_hash is None:
            self._conn.execute(INSERT_ACCESS, access)
        elif self._is_postgresql():
            self._direct_execute(
                INSERT_ACCESS_AND_REFRESH,
                {**access, "token_hash": refresh_token_hash, "created_at": now},
            )
        else:
            self._conn.execute(INSERT_ACCESS, access)
            self.add_refresh_token(family_id, refresh_token_hash, now)

    def access_token_family(self, jti: str) -> str | None:
        """The family an access token was issued in (None: unknown, or client_credentials)."""
        stmt = select(AccessTokenRecord.family_id).where(AccessTokenRecord.jti == jti)
        return self.session.scalar(stmt)

    def access_token_state(self, jti: str, subject: str, client_id: str) -> AccessTokenState:
        """The revocation-relevant state of an access token, in one query: its client,
        its user (when the subject is a user) and the family it was issued in."""
        params = {"jti": jti, "subject": subject, "client_id": client_id}
        row = self._conn.execute(ACCESS_TOKEN_STATE, params).first()
        if row is not None:
            return AccessTokenState(
                subject_exists=bool(row[3]),
                tokens_valid_after=row[0] or 0,
                user_disabled=row[1] is not None,
                family_revoked=row[2] is not None,
            )
        # No such user: a client_credentials token, whose subject is its client.
        exists = (
            subject == client_id
            and self._conn.execute(CLIENT_EXISTS, {"client_id": client_id}).scalar() is True
        )
        return AccessTokenState(subject_exists=exists)

    # --- deny list (embedded mode) ----------------------------------------------------

    def deny(self, jti: str, expires_at: datetime) -> None:
        values = {"jti": jti, "expires_at": expires_at}
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        self.session.execute(insert(DeniedToken).values(values).on_conflict_do_nothing())

    def insert_once(self, key: str, expires_at: datetime) -> bool:
        """Insert ``key`` into the deny table unless present: True if it was not."""
        dialect = self.session.get_bind().dialect.name
        insert_ = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = insert_(DeniedToken).values(jti=key, expires_at=expires_at).on_conflict_do_nothing()
        return bool(self.session.execute(stmt).rowcount)  # type: ignore[attr-defined]

    def is_denied(self, jti: str, now: datetime) -> bool:
        return self._conn.execute(IS_DENIED, {"jti": jti, "now": now}).first() is not None

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
