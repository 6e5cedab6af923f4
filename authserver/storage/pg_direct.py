"""Hot statements on PostgreSQL, sent on the driver's cursor of the unit of work's
connection (same transaction), without SQLAlchemy's per-statement machinery.

Measured (bench/README.md, 2026-12-03): of a refresh rotation's instructions outside RSA
signing, a fifth went to SQLAlchemy executing its two statements (compiled-cache lookup,
execution context, parameter and result processing, events). The statements sent here
are fixed Core statements, compiled once per dialect to the driver's SQL. What their
column types would do is done here: every datetime they bind or return is a
``UTCDateTime`` column (aware UTC in Python, naive UTC in the database), JSON and the
other types are the driver's own (psycopg parses ``json`` as SQLAlchemy's default
would). Driver errors surface as SQLAlchemy's (``DBAPIError.instance``), a lost
connection invalidated, so ``Database.unit_of_work`` answers them as for any statement.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable

_compiled: dict[tuple[int, str], str] = {}


def compiled(stmt: Executable, dialect: Dialect) -> str:
    """The driver's SQL of one of the fixed statements (compiled once per dialect)."""
    key = (id(stmt), dialect.name)
    sql = _compiled.get(key)
    if sql is None:
        sql = _compiled[key] = str(stmt.compile(dialect=dialect))  # type: ignore[attr-defined]
    return sql


def _sql(conn: Connection, stmt: Executable) -> str:
    return compiled(stmt, conn.dialect)


def bind_value(value: Any) -> Any:
    """A parameter as its column type would bind it (see the module docstring)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def result_value(value: Any) -> Any:
    """A result value as its column type would return it."""
    return value.replace(tzinfo=UTC) if isinstance(value, datetime) else value


def _run(conn: Connection, stmt: Executable, params: dict[str, Any], fetch: bool) -> Any:
    sql = _sql(conn, stmt)
    bound = {k: bind_value(v) for k, v in params.items()}
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    cursor = dbapi.cursor()
    try:
        cursor.execute(sql, bound)
        return cursor.fetchone() if fetch else None
    except conn.dialect.loaded_dbapi.Error as exc:
        lost = conn.dialect.is_disconnect(exc, dbapi, cursor)
        if lost:
            conn.invalidate(exc)
        raise DBAPIError.instance(
            sql,
            bound,
            exc,
            conn.dialect.loaded_dbapi.Error,
            connection_invalidated=lost,
            dialect=conn.dialect,
        ) from exc
    finally:
        cursor.close()


def first(conn: Connection, stmt: Executable, params: dict[str, Any]) -> tuple[Any, ...] | None:
    """The statement's first row (datetimes aware UTC), or None."""
    row = _run(conn, stmt, params, fetch=True)
    return None if row is None else tuple(result_value(v) for v in row)


def execute(conn: Connection, stmt: Executable, params: dict[str, Any]) -> None:
    _run(conn, stmt, params, fetch=False)
