"""A refresh rotation's statements on the event loop (PostgreSQL), without a thread hop
(a code exchange's likewise: ``storage.pg_loop_codes``, on the same connections).

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
import weakref
from collections.abc import Callable
from datetime import datetime
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
from authserver.storage.codes import AuthorizationCodeRepository
from authserver.storage.db import NeedsDatabase, UnitOfWork, refuse_session
from authserver.storage.tokens import (
    ROTATE_REFRESH_PG,
    UNDO_ROTATION_PG,
    RefreshTokenRow,
    Successor,
    TokenRepository,
)

T = TypeVar("T")
DIALECT = psycopg_dialect(dbapi=psycopg)  # compiles the statements as the engine's does


# One cursor per connection, kept (making one per statement cost a tenth of it), asking
# for results in binary (no text parsing of the claim's timestamps).
_cursors: weakref.WeakKeyDictionary[Any, psycopg.AsyncCursor[Any]] = weakref.WeakKeyDictionary()


async def _run(conn: psycopg.AsyncConnection[Any], sql: str, params: dict[str, Any], fetch: bool):
    cursor = _cursors.get(conn)
    if cursor is None or cursor.closed:
        cursor = _cursors[conn] = conn.cursor(binary=True)
    await cursor.execute(sql, params)
    return await cursor.fetchone() if fetch else None


async def _commit(conn: psycopg.AsyncConnection[Any]) -> None:
    await conn.execute("COMMIT")


def bound(stmt: Executable, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A fixed statement's SQL and its parameters as the driver takes them."""
    sql = pg_direct.compiled(stmt, DIALECT)
    return sql, {k: pg_direct.bind_value(v) for k, v in params.items()}


def send(
    conn: psycopg.AsyncConnection[Any], stmt: Executable, params: dict[str, Any], fetch: bool
) -> tuple[Any, ...] | None:
    """A fixed statement from the work's greenlet (``_send``)."""
    return _send(conn, *bound(stmt, params), fetch=fetch)


def _send(
    conn: psycopg.AsyncConnection[Any], sql: str, params: dict[str, Any], fetch: bool
) -> tuple[Any, ...] | None:
    """Run one statement from the work's greenlet; driver errors as SQLAlchemy's."""
    try:
        row = await_only(_run(conn, sql, params, fetch))
    except psycopg.Error as exc:
        raise _database_error(exc, conn, sql, params) from exc
    return None if row is None else tuple(pg_direct.result_value(v) for v in row)


def _database_error(
    exc: psycopg.Error, conn: psycopg.AsyncConnection[Any], sql: str, params: Any
) -> DBAPIError:
    return DBAPIError.instance(  # type: ignore[no-any-return]
        sql, params, exc, psycopg.Error, connection_invalidated=conn.broken, dialect=DIALECT
    )


# Statements that stand on their own (the connections are in autocommit): a rotation
# claims and stores in one statement, its undo releases and deletes in one. Any other
# statement opens a transaction (BEGIN), committed when the work returns.
_SELF_CONTAINED = (ROTATE_REFRESH_PG, UNDO_ROTATION_PG)


class LoopTokens(TokenRepository):
    """The token statements of a rotation on the loop's connection; the rest of the
    repository needs a session, which raises ``NeedsDatabase``.

    A rotation without a scope parameter is one statement, committed by itself: one
    round trip. When the request is then refused (the client's registration or the
    user's roles no longer allow the family's scope) or fails, ``undo_rotation`` puts
    the token back and deletes what was stored -- a moment after the commit, not under
    the claim's lock: a use of the same token in that moment counts as a replay. A
    request naming a scope (may be refused: a wider one) claims in a transaction
    instead, released under the lock, as in a thread."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:  # no session
        self._aconn = conn
        self.in_transaction = False
        # The presented token's hash and the successor of a rotation that committed by
        # itself, until undone: the unit of work undoes it if the work fails.
        self.rotated: tuple[str, Successor] | None = None

    @property
    def session(self) -> Session:  # type: ignore[override]
        raise NeedsDatabase()

    def _is_postgresql(self) -> bool:
        return True

    def rotation_in_one_statement(self, may_be_refused: bool) -> bool:
        return not may_be_refused

    def rotate_refresh_token(
        self, token_hash: str, client_id: str, now: datetime, successor: Successor
    ) -> RefreshTokenRow | None:
        alone = not self.in_transaction
        found = super().rotate_refresh_token(token_hash, client_id, now, successor)
        if found is not None and alone:
            self.rotated = (token_hash, successor)
        return found

    def undo_rotation(self, token_hash: str, successor: Successor) -> None:
        super().undo_rotation(token_hash, successor)
        self.rotated = None

    def undo(self) -> tuple[str, dict[str, Any]] | None:
        """The statement undoing this work's committed rotation, if there is one."""
        if self.rotated is None:
            return None
        (token_hash, successor), self.rotated = self.rotated, None
        params = {"h": token_hash, "jti": successor.jti, "successor": successor.token_hash}
        return bound(UNDO_ROTATION_PG, params)

    def _direct_first(self, stmt: Executable, params: dict[str, Any]) -> tuple[Any, ...] | None:
        self._begin_unless_alone(stmt)
        return _send(self._aconn, *bound(stmt, params), fetch=True)

    def _direct_execute(self, stmt: Executable, params: dict[str, Any]) -> None:
        self._begin_unless_alone(stmt)
        _send(self._aconn, *bound(stmt, params), fetch=False)

    def _begin_unless_alone(self, stmt: Executable) -> None:
        if not self.in_transaction and not any(stmt is s for s in _SELF_CONTAINED):
            _send(self._aconn, "BEGIN", {}, fetch=False)
            self.in_transaction = True


class LoopUnitOfWork(UnitOfWork):
    """One unit of work on the loop's connection: ``tokens`` and ``codes`` only (see the
    module and ``storage.pg_loop_codes``)."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        super().__init__(refuse_session)
        self._aconn = conn

    @cached_property
    def tokens(self) -> TokenRepository:
        return LoopTokens(self._aconn)

    @cached_property
    def codes(self) -> AuthorizationCodeRepository:
        # (Imported here: that module builds on this one's statement helpers.)
        from authserver.storage.pg_loop_codes import LoopCodes

        return LoopCodes(self._aconn)

    def undo_statements(self) -> list[tuple[str, dict[str, Any]]]:
        """What undoes the statements the work committed on their own (it failed after)."""
        used = (self.__dict__.get("tokens"), self.__dict__.get("codes"))
        return [u for r in used if r is not None and (u := r.undo()) is not None]

    @property
    def loop_tokens(self) -> LoopTokens | None:
        """The token repository, if the work used it."""
        tokens = self.__dict__.get("tokens")
        return tokens if isinstance(tokens, LoopTokens) else None


class LoopDatabase:
    """Up to ``size`` asyncio connections (autocommit), opened on first use, kept while
    healthy (at most ``recycle`` seconds, as the engine's pool), each serving one unit of
    work at a time. They belong to the event loop that opened them (tests run one loop
    per client)."""

    def __init__(self, url: URL, size: int, recycle: float = 1800) -> None:
        self._conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._size, self._recycle = size, recycle
        self._idle: list[tuple[psycopg.AsyncConnection[Any], float]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots = asyncio.Semaphore(size)

    async def run(self, work: Callable[[UnitOfWork], T]) -> T:
        """``work`` in a greenlet on the loop: what it did committed when it returns,
        rolled back (or undone) when it raises. Errors as ``Database.unit_of_work``'s."""
        self._bind_loop()
        async with self._slots:
            conn, born = await self._checkout()
            uow = LoopUnitOfWork(conn)
            try:
                result = await greenlet_spawn(work, uow)
                tokens = uow.loop_tokens
                if tokens is not None and tokens.in_transaction:
                    try:
                        await _commit(conn)
                    except psycopg.Error as exc:
                        raise _database_error(exc, conn, "COMMIT", None) from exc
            except DBAPIError as exc:
                await self._abandon(conn, uow)
                await _close(conn)
                if isinstance(exc.orig, psycopg.OperationalError) or exc.connection_invalidated:
                    raise ServiceUnavailable("database unavailable") from exc
                raise
            except Exception:
                # NeedsDatabase (to run in a thread), keys being fetched, a failed request:
                # nothing the work did stands, and the connection is fine once it is so.
                if await self._abandon(conn, uow):
                    self._checkin(conn, born)
                else:
                    await _close(conn)
                raise
            except BaseException:  # cancelled: the connection's state is not known
                await self._abandon(conn, uow)
                await _close(conn)
                raise
            self._checkin(conn, born)
            return result

    async def _abandon(self, conn: psycopg.AsyncConnection[Any], uow: LoopUnitOfWork) -> bool:
        """Roll back the work's transaction and undo what it committed alone (a rotation,
        an exchange); False if the connection failed doing so."""
        tokens = uow.loop_tokens
        if conn.broken:
            return False
        try:
            if tokens is not None and tokens.in_transaction:
                await _run(conn, "ROLLBACK", {}, False)
                tokens.in_transaction = False
            for sql, params in uow.undo_statements():
                await _run(conn, sql, params, False)
        except psycopg.Error:
            return False
        return True

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
            conn = await psycopg.AsyncConnection.connect(
                self._conninfo, autocommit=True, connect_timeout=5
            )
        except psycopg.Error as exc:
            raise ServiceUnavailable("database unavailable") from exc
        return conn, now

    def _checkin(self, conn: psycopg.AsyncConnection[Any], born: float) -> None:
        idle = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        if idle and not conn.broken and self._loop is asyncio.get_running_loop():
            self._idle.append((conn, born))
        else:
            conn.pgconn.finish()

    async def close(self) -> None:
        """Close the idle connections (at shutdown, on the loop that opened them)."""
        idle, self._idle = self._idle, []
        for conn, _ in idle:
            await _close(conn)


async def _close(conn: psycopg.AsyncConnection[Any]) -> None:
    with contextlib.suppress(psycopg.Error):
        await conn.close()
