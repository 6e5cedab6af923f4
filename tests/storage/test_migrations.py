"""The Alembic revisions and the SQLAlchemy models describe the same schema, on SQLite and
on PostgreSQL: a model change without its revision (or the reverse) fails here."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from authserver.storage import migrate
from authserver.storage.db import make_engine
from authserver.storage.models import Base, InitialAccessToken, LoginSession, User


def test_one_head() -> None:
    heads = ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, f"migrations have several heads: {heads}"


def test_migrated_schema_matches_models(backend) -> None:
    engine = make_engine(backend.database_url, pool_size=1)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "render_as_batch": True}
            )
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database(request, tmp_path):
    """A database with no schema at all, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    from tests.conftest import PG_ADMIN_URL, _service_missing

    name = f"authserver_mig_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        _service_missing("PostgreSQL", exc)
    try:
        yield (
            sa.engine.make_url(PG_ADMIN_URL)
            .set(database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_0003_turns_the_role_into_a_set_and_sessions_get_pwd(empty_database):
    migrate.upgrade(empty_database, "0002")
    engine = make_engine(empty_database, pool_size=1)
    auth_time = datetime(2026, 11, 30, 12, 0, 0)
    try:
        with engine.begin() as conn:
            for uid, role in (("u-admin", "admin"), ("u-user", "user")):
                conn.execute(
                    sa.text(
                        "INSERT INTO users (id, email, email_key, email_verified, role, "
                        "tokens_valid_after, created_at, updated_at) VALUES "
                        "(:id, :e, :e, false, :role, 0, :t, :t)"
                    ),
                    {"id": uid, "e": f"{uid}@example.com", "role": role, "t": auth_time},
                )
            conn.execute(
                sa.text(
                    "INSERT INTO login_sessions (id, secret_hash, user_id, auth_time, "
                    "created_at, last_seen_at, expires_at) VALUES "
                    "('s1', 'h1', 'u-admin', :t, :t, :t, :t)"
                ),
                {"t": auth_time},
            )
        migrate.upgrade(empty_database)
        with engine.connect() as conn:
            roles = dict(
                conn.execute(sa.select(User.id, User.roles)).all()  # type: ignore[arg-type]
            )
            methods = conn.execute(sa.select(LoginSession.auth_methods)).scalar_one()
    finally:
        engine.dispose()
    assert roles == {"u-admin": ["admin", "user"], "u-user": ["user"]}
    assert methods == {"pwd": int(auth_time.replace(tzinfo=UTC).timestamp())}


def test_0010_gives_initial_access_tokens_without_expiry_one(empty_database):
    migrate.upgrade(empty_database, "0009")
    engine = make_engine(empty_database, pool_size=1)
    issued = datetime(2026, 1, 1, 12, 0, 0)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO initial_access_tokens (token_hash, description, created_at) "
                    "VALUES ('h-old', 'forever', :t)"
                ),
                {"t": issued},
            )
        migrate.upgrade(empty_database)
        with engine.connect() as conn:
            row = conn.execute(
                sa.select(InitialAccessToken.expires_at, InitialAccessToken.uses)
            ).one()
    finally:
        engine.dispose()
    left = (row.expires_at - datetime.now(UTC)).total_seconds()
    assert 86_000 < left <= 86_400 and row.uses == 0


def test_0011_rekeys_emails_keeps_every_account_and_records_conflicts(empty_database):
    migrate.upgrade(empty_database, "0010")
    engine = make_engine(empty_database, pool_size=1)
    t0 = datetime(2026, 1, 1, 12, 0, 0)
    rows = [  # id, email (as stored), key under str.casefold()
        ("u-sharp", "x@straße.de", "x@strasse.de"),
        ("u-plain", "Ann@example.com", "ann@example.com"),
        ("u-a", "a@example.com", "a@example.com"),
        ("u-wide", "a@\uff45xample.com", "a@\uff45xample.com"),  # stored by hand, unnormalised
        ("u-cap", "\u1e9e@x.de", "ss@x.de"),  # capital sharp s: case-folds to "ss"
    ]
    try:
        with engine.begin() as conn:
            for i, (uid, email, key) in enumerate(rows):
                conn.execute(
                    sa.text(
                        "INSERT INTO users (id, email, email_key, email_verified, roles, "
                        "tokens_valid_after, created_at, updated_at) VALUES "
                        "(:id, :e, :k, false, '[\"user\"]', 0, :t, :t)"
                    ),
                    {"id": uid, "e": email, "k": key, "t": t0.replace(minute=i)},
                )
        migrate.upgrade(empty_database)
        with engine.connect() as conn:
            keys = dict(conn.execute(sa.select(User.id, User.email_key)).all())  # type: ignore[arg-type]
            events = conn.execute(
                sa.text("SELECT user_id, details FROM audit_events WHERE event = :e"),
                {"e": "user.email_key_conflict"},
            ).all()
    finally:
        engine.dispose()
    assert keys == {
        "u-sharp": "x@xn--strae-oqa.de",
        "u-plain": "ann@example.com",
        "u-a": "a@example.com",
        "u-wide": "~u-wide~a@example.com",  # kept, reachable by id; u-a keeps the address
        "u-cap": "ß@x.de",
    }
    assert len(events) == 1 and events[0][0] == "u-wide"


def test_0014_marks_round_trips_in_flight_as_not_fresh_and_downgrades(empty_database):
    """A federated round trip in flight during the upgrade was sent upstream without a
    fresh-authentication demand: it gets ``fresh_auth`` false (its callback unchanged)."""
    migrate.upgrade(empty_database, "0013")
    engine = make_engine(empty_database, pool_size=1)
    t0 = datetime(2026, 1, 1, 12, 0, 0)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO identity_providers (id, kind, display_name, enabled, domains, "
                    "settings, policy, mapping, created_at, updated_at) VALUES "
                    "('corp', 'oidc', 'Corp', true, '[]', '{}', '{}', '{}', :t, :t)"
                ),
                {"t": t0},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO federation_logins (state_hash, provider_id, browser_hash, "
                    "return_to, created_at, expires_at) VALUES "
                    "('s-hash', 'corp', 'b-hash', '/account', :t, :t)"
                ),
                {"t": t0},
            )
        migrate.upgrade(empty_database)
        with engine.connect() as conn:
            fresh = conn.execute(sa.text("SELECT fresh_auth FROM federation_logins")).scalar_one()
        migrate.downgrade(empty_database, "0013")
        with engine.connect() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("federation_logins")}
    finally:
        engine.dispose()
    assert fresh in (False, 0)
    assert "fresh_auth" not in columns and "state_hash" in columns
