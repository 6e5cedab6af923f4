"""A code exchange's statements on the event loop (PostgreSQL), without a thread hop.

As ``storage.pg_loop`` does for a refresh rotation: Authlib's grant code runs unchanged
in a greenlet on the loop, and the exchange's two fixed statements (``storage.codes``)
are awaited on the loop's asyncio connection, in autocommit:

- the read of the code, its user and the upstream provider's lifetime cap;
- after every check (client, redirect URI, PKCE, expiry, user) and the signing, the
  claim with the family and the token records: one statement, so all or nothing; of
  concurrent exchanges exactly one claims (the conditional UPDATE and its row lock,
  RFC 6749 §4.1.2).

Anything else -- a replayed code (the first use's family revoked and audited), a claim
lost to a concurrent exchange (the same), an uncached client -- needs the session and
raises ``NeedsDatabase`` before it reads or writes: the request runs again in a thread,
where it meets the same code and answers as it always has. A request that fails after
its claim committed is undone (``UNDO_EXCHANGE_PG``) by ``LoopDatabase``: a moment
after the commit, so a replay in that moment counts as one (its family is revoked), and
then the undo leaves the code used and the family revoked.
"""

from __future__ import annotations

from typing import Any

import psycopg
from sqlalchemy.orm import Session

from authserver.storage import pg_loop
from authserver.storage.codes import (
    FIND_FOR_EXCHANGE,
    UNDO_EXCHANGE_PG,
    AuthorizationCodeRepository,
    CodeForExchange,
    Issued,
    exchange_statement,
    found_for_exchange,
)
from authserver.storage.db import NeedsDatabase


class LoopCodes(AuthorizationCodeRepository):
    """The exchange's two statements on the loop's connection; the rest of the
    repository needs a session, which raises ``NeedsDatabase``."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:  # no session
        self._aconn = conn
        # (code hash, family id) of an exchange that committed, until undone: the unit of
        # work undoes it if the request fails after it.
        self.exchanged: tuple[str, str] | None = None

    @property
    def session(self) -> Session:  # type: ignore[override]
        raise NeedsDatabase()

    def find_for_exchange(self, code_hash: str) -> CodeForExchange | None:
        row = pg_loop.send(self._aconn, FIND_FOR_EXCHANGE, {"h": code_hash}, fetch=True)
        return None if row is None else found_for_exchange(row)

    def exchange(self, code_hash: str, issued: Issued) -> bool:
        stmt, params = exchange_statement(code_hash, issued)
        row = pg_loop.send(self._aconn, stmt, params, fetch=True)
        if row is None or row[0] != 1:
            return False  # lost to another exchange: its replay handling needs a thread
        self.exchanged = (code_hash, issued.family_id)
        return True

    def undo(self) -> tuple[str, dict[str, Any]] | None:
        """The statement undoing this work's committed exchange, if there is one."""
        if self.exchanged is None:
            return None
        code_hash, family_id = self.exchanged
        self.exchanged = None
        return pg_loop.bound(UNDO_EXCHANGE_PG, {"h": code_hash, "family_id": family_id})
