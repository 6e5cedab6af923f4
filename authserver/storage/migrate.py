"""Apply the Alembic migrations shipped in the package, and tell whether a database is at
the revision this code needs."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from authserver.errors import NotMigrated, ServiceUnavailable
from authserver.storage.db import make_engine

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
# Serialises concurrent `upgrade`s (several processes starting at once) on PostgreSQL.
ADVISORY_LOCK_KEY = 0x61757468  # "auth"


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["database_url"] = database_url
    return cfg


def display_url(database_url: str) -> str:
    """The URL with its password hidden, for messages."""
    return make_url(database_url).render_as_string(hide_password=True)


def upgrade(database_url: str, revision: str = "head") -> None:
    cfg = alembic_config(database_url)
    engine = make_engine(database_url, pool_size=1)
    try:
        with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                # SQLite ALTERs are batch table rebuilds (copy, DROP, rename): with foreign
                # keys on, dropping the old `users` would cascade-delete every row that
                # references it. The pragma only takes effect outside a transaction.
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                connection.commit()
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK_KEY}
                    )
                cfg.attributes["connection"] = connection
                command.upgrade(cfg, revision)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration left dangling references: {broken[:5]}")
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()
    except OperationalError as exc:
        raise _unreachable(database_url, exc) from None
    finally:
        engine.dispose()


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def head_revision() -> str:
    """The newest revision shipped with this code."""
    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    assert head is not None
    return head


def current_revision(database_url: str) -> str | None:
    """The database's revision (None: never migrated)."""
    engine = make_engine(database_url, pool_size=1)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except OperationalError as exc:
        raise _unreachable(database_url, exc) from None
    finally:
        engine.dispose()


def require_current(database_url: str) -> None:
    """Raise ``NotMigrated`` unless the database is at this code's revision."""
    current, head = current_revision(database_url), head_revision()
    if current == head:
        return
    if current is not None and not _known(current):
        raise NotMigrated(
            f"the database {display_url(database_url)} is at revision {current}, which this "
            f"version ({head}) does not know: it was migrated by a newer authserver"
        )
    state = "was never migrated" if current is None else f"is at revision {current}"
    raise NotMigrated(
        f"the database {display_url(database_url)} {state}; this version needs {head}: "
        "run `authserver migrate`"
    )


def _known(revision: str) -> bool:
    try:
        return ScriptDirectory.from_config(alembic_config("")).get_revision(revision) is not None
    except Exception:  # alembic raises several kinds for an unknown revision
        return False


def _unreachable(database_url: str, exc: OperationalError) -> ServiceUnavailable:
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
    return ServiceUnavailable(f"cannot reach the database {display_url(database_url)}: {reason}")
