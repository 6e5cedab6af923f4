"""``storage.pg_direct`` against SQLAlchemy: the refresh rotation's statements sent on the
driver's cursor give the rows SQLAlchemy gives and write the rows SQLAlchemy writes
(types included: aware UTC datetimes, JSON lists, booleans), and driver errors arrive as
SQLAlchemy's. PostgreSQL only (the module is PostgreSQL's)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from authserver.hashing import new_secret, secret_hash
from authserver.storage import pg_direct
from authserver.storage.models import AccessTokenRecord, RefreshToken, TokenFamily
from authserver.storage.tokens import CLAIM_REFRESH_PG, INSERT_ACCESS_AND_REFRESH
from authserver.storage.types import UTCDateTime
from tests.conftest import _truncate_all

NOW = datetime(2026, 12, 3, 12, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
def engine(pg_database: str):
    _truncate_all(pg_database)
    eng = sa.create_engine(pg_database)
    yield eng
    eng.dispose()


def seed(conn: sa.Connection) -> tuple[str, str, str]:
    """A client, a user, a family and one unused refresh token; (hash, client, family)."""
    user_id, family_id = str(uuid.uuid4()), str(uuid.uuid4())
    from authserver.storage.models import Client, User

    conn.execute(sa.insert(Client.__table__), [_client_row()])
    conn.execute(sa.insert(User.__table__), [_user_row(user_id)])
    conn.execute(
        sa.insert(TokenFamily.__table__),
        [
            {
                "id": family_id,
                "client_id": "c1",
                "user_id": user_id,
                "scope": "openid api:read",
                "auth_time": NOW - timedelta(minutes=5),
                "amr": ["pwd", "otp"],
                "created_at": NOW - timedelta(minutes=5),
                "expires_at": NOW + timedelta(days=1),
            }
        ],
    )
    token_hash = secret_hash(new_secret(32))
    conn.execute(
        sa.insert(RefreshToken.__table__),
        [{"token_hash": token_hash, "family_id": family_id, "created_at": NOW}],
    )
    return token_hash, "c1", family_id


def _client_row() -> dict[str, object]:
    from authserver.storage.models import Client

    row: dict[str, object] = {}
    for column in Client.__table__.columns:
        if column.nullable or column.default is not None or column.server_default is not None:
            continue
        row[column.name] = _value_for(column)
    row["client_id"] = "c1"
    return row


def _user_row(user_id: str) -> dict[str, object]:
    from authserver.storage.models import User

    row: dict[str, object] = {}
    for column in User.__table__.columns:
        if column.nullable or column.default is not None or column.server_default is not None:
            continue
        row[column.name] = _value_for(column)
    row.update(id=user_id, email="u@example.com", roles=["user", "admin"], name="U Ser")
    row.update(email_verified=True, updated_at=NOW - timedelta(hours=1))
    return row


def _value_for(column: sa.Column) -> object:
    kind = column.type
    if isinstance(kind, UTCDateTime | sa.DateTime):
        return NOW
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.JSON):
        return []
    if isinstance(kind, sa.Integer):
        return 0
    return f"x-{column.name}"


def test_the_claim_returns_what_sqlalchemy_returns(engine):
    with engine.begin() as conn:
        token_hash, client_id, _ = seed(conn)
    params = {"h": token_hash, "client_id": client_id, "now": NOW}
    conn = engine.connect()
    try:
        expected = tuple(conn.execute(CLAIM_REFRESH_PG, params).first())
        conn.rollback()  # unclaimed again
        got = pg_direct.first(conn, CLAIM_REFRESH_PG, params)
        conn.rollback()
    finally:
        conn.close()
    assert got == expected
    assert [type(v) for v in got] == [type(v) for v in expected]
    assert all(v.tzinfo is UTC for v in got if isinstance(v, datetime))
    assert ["user", "admin"] in got and ["pwd", "otp"] in got and True in got


def test_a_claim_that_matches_nothing_is_none(engine):
    with engine.begin() as conn:
        token_hash, _, _ = seed(conn)
        params = {"h": token_hash, "client_id": "someone else", "now": NOW}
        assert pg_direct.first(conn, CLAIM_REFRESH_PG, params) is None


def test_the_insert_writes_what_sqlalchemy_reads_back(engine):
    with engine.begin() as conn:
        _, client_id, family_id = seed(conn)
        user_id = conn.scalar(sa.select(TokenFamily.user_id).where(TokenFamily.id == family_id))
    new_hash = secret_hash(new_secret(32))
    expires = NOW + timedelta(minutes=10)
    with engine.begin() as conn:
        pg_direct.execute(
            conn,
            INSERT_ACCESS_AND_REFRESH,
            {
                "jti": "jti-1",
                "family_id": family_id,
                "user_id": user_id,
                "client_id": client_id,
                "expires_at": expires,
                "token_hash": new_hash,
                "created_at": NOW,
            },
        )
    with engine.connect() as conn:
        access = conn.execute(
            sa.select(AccessTokenRecord.__table__).where(AccessTokenRecord.jti == "jti-1")
        ).one()
        refresh = conn.execute(
            sa.select(RefreshToken.__table__).where(RefreshToken.token_hash == new_hash)
        ).one()
    assert access.expires_at == expires and access.family_id == family_id
    assert refresh.created_at == NOW and refresh.used_at is None


def test_driver_errors_are_sqlalchemys_and_naive_datetimes_are_refused(engine):
    with engine.begin() as conn:
        token_hash, client_id, family_id = seed(conn)
        user_id = conn.scalar(sa.select(TokenFamily.user_id).where(TokenFamily.id == family_id))
    params = {
        "jti": "jti-2",
        "family_id": family_id,
        "user_id": user_id,
        "client_id": client_id,
        "expires_at": NOW,
        "token_hash": token_hash,  # already there: a unique violation
        "created_at": NOW,
    }
    with pytest.raises(sa_exc.IntegrityError), engine.begin() as conn:
        pg_direct.execute(conn, INSERT_ACCESS_AND_REFRESH, params)
    with pytest.raises(ValueError, match="naive"), engine.begin() as conn:
        pg_direct.first(
            conn,
            CLAIM_REFRESH_PG,
            {"h": token_hash, "client_id": client_id, "now": NOW.replace(tzinfo=None)},
        )


def test_a_lost_connection_is_invalidated_and_reported_as_unavailable(engine, pg_database):
    from authserver.errors import ServiceUnavailable
    from authserver.storage.db import Database

    with engine.begin() as conn:
        token_hash, client_id, _ = seed(conn)
    db = Database(pg_database, pool_size=1)
    params = {"h": token_hash, "client_id": client_id, "now": NOW}
    try:
        with pytest.raises(ServiceUnavailable) as lost, db.unit_of_work() as uow:
            conn = uow.session.connection()
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            with engine.connect() as killer:
                killer.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
            pg_direct.first(conn, CLAIM_REFRESH_PG, params)
        assert isinstance(lost.value.__cause__, sa_exc.OperationalError)
        assert lost.value.__cause__.connection_invalidated
        # The dead connection left the pool: the next unit of work gets a live one.
        with db.unit_of_work() as uow:
            row = pg_direct.first(uow.session.connection(), CLAIM_REFRESH_PG, params)
        assert row is not None
    finally:
        db.dispose()
