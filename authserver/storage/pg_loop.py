"""A refresh rotation's statements on the event loop (PostgreSQL), without a thread hop.

Measured (bench/README.md, issue 12 fourth part): handing a refresh to the protocol
thread pool cost it 150-500 us of CPU per request (wake-ups, GIL hand-offs, system
time) on top of the work itself. The grant's code stays Authlib's synchronous code: it
runs on the event loop in a greenlet (SQLAlchemy's ``greenlet_spawn``, as its asyncio
extension does), and the token statements it sends -- the claim, its release, the insert
of what was issued: the fixed statements of ``storage.tokens``, compiled and converted
as ``storage.pg_direct`` does -- are awaited on an asyncio psycopg connection while
other requests run. Same statements, same transaction (committed when the work returns,
rolled back when it raises), so the same guarantees: of concurrent claims exactly one
wins (the row lock), a refused request's release happens under its claim's lock.

Anything else the work asks of the database (a replay's revocation and audit, a client
that is not cached, ...) raises ``NeedsDatabase`` before it is read or written: the
transaction is rolled back and the caller runs the request again in a thread
(``web.oauth_bridge``), as the offline client_credentials path does.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from functools import cached_property
from typing import Any, TypeVar

import psycopg
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable
from sqlalchemy.util import await_only, greenlet_spawn

from authserver.errors import ServiceUnavailable
from authserver.storage import pg_direct
from authserver.storage.db import NeedsDatabase, UnitOfWork, refuse_session
from authserver.storage.tokens import TokenRepository

T = TypeVar("T")
DIALECT = psycopg_dialect(dbapi=psycopg)  # compiles the statements as the engine's does


async def _run(conn: psycopg.AsyncConnection[Any], sql: str, params: dict[str, Any], fetch: bool):
    async with conn.cursor() as cursor:
        await cursor.execute(sql, params)
        return await cursor.fetchone() if fetch else None


async def _commit(conn: psycopg.AsyncConnection[Any]) -> None:
    await conn.commit()


def _send(
    conn: psycopg.AsyncConnection[Any], stmt: Executable, params: dict[str, Any], fetch: bool
) -> tuple[Any, ...] | None:
    """Run one statement from the work's greenlet; driver errors as SQLAlchemy's."""
    sql = pg_direct.compiled(stmt, DIALECT)
    bound = {k: pg_direct.bind_value(v) for k, v in params.items()}
    try:
        row = await_only(_run(conn, sql, bound, fetch))
    except psycopg.Error as exc:
        raise _database_error(exc, conn, sql, bound) from exc
    return None if row is None else tuple(pg_direct.result_value(v) for v in row)


def _database_error(
    exc: psycopg.Error, conn: psycopg.AsyncConnection[Any], sql: str, params: Any
) -> DBAPIError:
    return DBAPIError.instance(  # type: ignore[no-any-return]
        sql, params, exc, psycopg.Error, connection_invalidated=conn.broken, dialect=DIALECT
    )


class LoopTokens(TokenRepository):
    """The token statements of a rotation on the loop's connection; the rest of the
    repository needs a session, which raises ``NeedsDatabase``."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:  # no session
        self._aconn = conn

    @property
    def session(self) -> Session:  # type: ignore[override]
        raise NeedsDatabase()

    def _is_postgresql(self) -> bool:
        return True

    def _direct_first(self, stmt: Executable, params: dict[str, Any]) -> tuple[Any, ...] | None:
        return _send(self._aconn, stmt, params, fetch=True)

    def _direct_execute(self, stmt: Executable, params: dict[str, Any]) -> None:
        _send(self._aconn, stmt, params, fetch=False)


class LoopUnitOfWork(UnitOfWork):
    """One transaction on the loop's connection: ``tokens`` only (see the module)."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        super().__init__(refuse_session)
        self._aconn = conn

    @cached_property
    def tokens(self) -> TokenRepository:
        return LoopTokens(self._aconn)


class LoopDatabase:
    """Up to ``size`` asyncio connections, opened on first use, kept while healthy (at
    most ``recycle`` seconds, as the engine's pool), each serving one unit of work at a
    time. They belong to the event loop that opened them (tests run one loop per client)."""

    def __init__(self, url: URL, size: int, recycle: float = 1800) -> None:
        self._conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._size, self._recycle = size, recycle
        self._idle: list[tuple[psycopg.AsyncConnection[Any], float]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots = asyncio.Semaphore(size)

    async def run(self, work: Callable[[UnitOfWork], T]) -> T:
        """``work`` in a greenlet on the loop, inside one transaction: committed when it
        returns, rolled back when it raises. Errors as ``Database.unit_of_work``'s."""
        self._bind_loop()
        async with self._slots:
            conn, born = await self._checkout()
            try:
                result = await greenlet_spawn(work, LoopUnitOfWork(conn))
                try:
                    await _commit(conn)
                except psycopg.Error as exc:
                    raise _database_error(exc, conn, "COMMIT", None) from exc
            except NeedsDatabase:
                # Nothing the work did stands; the connection is fine.
                await self._rollback(conn, born)
                raise
            except DBAPIError as exc:
                await _close(conn)
                if isinstance(exc.orig, psycopg.OperationalError) or exc.connection_invalidated:
                    raise ServiceUnavailable("database unavailable") from exc
                raise
            except BaseException:
                await _close(conn)  # the server rolls back what the work did
                raise
            self._checkin(conn, born)
            return result

    def _bind_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            # Connections (and the semaphore) of a previous loop are not used on this one.
            for conn, _ in self._idle:
                conn.pgconn.finish()
            self._idle.clear()
            self._loop, self._slots = loop, asyncio.Semaphore(self._size)

    async def _checkout(self) -> tuple[psycopg.AsyncConnection[Any], float]:
        now = time.monotonic()
        while self._idle:
            conn, born = self._idle.pop()
            if not conn.closed and now - born < self._recycle:
                return conn, born
            await _close(conn)
        try:
            conn = await psycopg.AsyncConnection.connect(self._conninfo, connect_timeout=5)
        except psycopg.Error as exc:
            raise ServiceUnavailable("database unavailable") from exc
        return conn, now

    def _checkin(self, conn: psycopg.AsyncConnection[Any], born: float) -> None:
        idle = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        if idle and not conn.broken and self._loop is asyncio.get_running_loop():
            self._idle.append((conn, born))
        else:
            conn.pgconn.finish()

    async def _rollback(self, conn: psycopg.AsyncConnection[Any], born: float) -> None:
        try:
            await conn.rollback()
        except psycopg.Error:
            await _close(conn)
            return
        self._checkin(conn, born)

    async def close(self) -> None:
        """Close the idle connections (at shutdown, on the loop that opened them)."""
        idle, self._idle = self._idle, []
        for conn, _ in idle:
            await _close(conn)


async def _close(conn: psycopg.AsyncConnection[Any]) -> None:
    with contextlib.suppress(psycopg.Error):
        await conn.close()
