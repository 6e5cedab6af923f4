"""Signing keys in the database (``AUTHSERVER_KEY_STORE=database``): one table that every
process on every machine reads, so no folder has to be shared.

The private key of each row is PKCS#8 DER sealed with ``services.envelope``; the context
names the kid, so a ciphertext copied onto another row does not open. A row that does not
open (a wrong or missing key-encryption key, a truncated or altered value) is an error
that names the kid and the setting: the server refuses to start, and never signs with a
key it cannot read. Changes run in one transaction holding a lock (a PostgreSQL advisory
lock; SQLite's write lock), so two processes due to rotate at once make one key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from sqlalchemy.engine import Connection

from authserver.errors import SigningKeyError
from authserver.keys.envelope import DecryptionError, Envelope
from authserver.keys.keystore import StoredKey, new_private_key, private_jwk
from authserver.keys.lifecycle import KeySchedule
from authserver.storage.db import Database
from authserver.storage.models import SigningKey

TABLE: sa.Table = SigningKey.__table__  # type: ignore[assignment]
SCHEDULE = (
    TABLE.c.kid,
    TABLE.c.created_at,
    TABLE.c.activates_at,
    TABLE.c.deactivates_at,
    TABLE.c.retired_at,
)
# pg_advisory_xact_lock key of key-store changes (migrations use another).
ADVISORY_LOCK_KEY = 0x61757468_6B657973  # "authkeys"


def context(kid: str) -> str:
    return f"signing_keys:{kid}:private_key"


def _schedule(row: Any) -> KeySchedule:
    return KeySchedule(
        kid=row.kid,
        created_at=row.created_at,
        activates_at=row.activates_at,
        deactivates_at=row.deactivates_at,
        retired_at=row.retired_at,
    )


def _open(envelope: Envelope, row: Any) -> StoredKey:
    where = f"signing key {row.kid} in the database"
    try:
        der = envelope.decrypt(row.private_key or "", context(row.kid))
        key = serialization.load_der_private_key(der, None)
    except DecryptionError as exc:
        raise SigningKeyError(f"{where} cannot be decrypted: {exc}") from None
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"{where} is not a private key ({exc})") from None
    return StoredKey(_schedule(row), private_jwk(key, row.kid, where))


def _seal(envelope: Envelope, stored: StoredKey) -> str:
    key = stored.private.private_key
    assert key is not None  # a signing key always has its private half
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return envelope.encrypt(der, context(stored.kid))


class DatabaseKeyStore:
    """Read by a background poller (``keys.maintenance``), never on a request: a
    database that is slow or away must not stall the event loop."""

    poll_in_request = False

    def __init__(self, db: Database, envelope: Envelope) -> None:
        self.db = db
        self.envelope = envelope

    def fingerprint(self) -> tuple[tuple[Any, ...], ...]:
        with self.db.engine.connect() as conn:
            rows = conn.execute(
                sa.select(*SCHEDULE, sa.func.length(TABLE.c.private_key)).order_by(TABLE.c.kid)
            )
            return tuple(tuple(r) for r in rows)

    def schedules(self) -> list[KeySchedule]:
        with self.db.engine.connect() as conn:
            return KeyWriter(conn, self.envelope).schedules()

    def load(self) -> list[StoredKey]:
        with self.db.engine.connect() as conn:
            return KeyWriter(conn, self.envelope).load()

    @contextmanager
    def exclusive(self) -> Iterator[KeyWriter]:
        """One transaction that holds the key-store lock while it reads and writes."""
        with self.db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK_KEY})
            else:
                # A write first: this transaction takes SQLite's one write lock before
                # it reads (the others wait for it, busy_timeout), so what it reads
                # stays true until it commits.
                conn.execute(TABLE.update().where(sa.false()).values(kid=TABLE.c.kid))
            yield KeyWriter(conn, self.envelope)


class KeyWriter:
    """The key store inside one transaction (``DatabaseKeyStore.exclusive``)."""

    def __init__(self, conn: Connection, envelope: Envelope) -> None:
        self.conn = conn
        self.envelope = envelope

    def schedules(self) -> list[KeySchedule]:
        rows = self.conn.execute(sa.select(*SCHEDULE).order_by(TABLE.c.kid))
        return [_schedule(r) for r in rows]

    def load(self) -> list[StoredKey]:
        rows = self.conn.execute(sa.select(TABLE).order_by(TABLE.c.kid))
        return [_open(self.envelope, r) for r in rows]

    def create(self, schedule_for: Callable[[str], KeySchedule], size: int) -> KeySchedule:
        # Every existing key must open with this process's key-encryption keys first: a
        # process started with the wrong one would otherwise add a key the others cannot
        # read (and they would sign on without it).
        self.load()
        private, kid = new_private_key(size)
        schedule = schedule_for(kid)
        self.add(StoredKey(schedule, private_jwk(private, kid, "new key")))
        return schedule

    def add(self, stored: StoredKey) -> bool:
        """Insert a key unless its kid is already there (an import run twice). As for
        ``create``, the stored keys must open first: an import run with another KEK would
        add keys the servers cannot read."""
        self.load()
        exists = self.conn.execute(sa.select(TABLE.c.kid).where(TABLE.c.kid == stored.kid)).first()
        if exists:
            return False
        s = stored.schedule
        self.conn.execute(
            TABLE.insert().values(
                kid=s.kid,
                created_at=s.created_at,
                activates_at=s.activates_at,
                deactivates_at=s.deactivates_at,
                retired_at=s.retired_at,
                private_key=_seal(self.envelope, stored),
            )
        )
        return True

    def save_schedule(self, schedule: KeySchedule) -> None:
        self.conn.execute(
            TABLE.update()
            .where(TABLE.c.kid == schedule.kid)
            .values(
                activates_at=schedule.activates_at,
                deactivates_at=schedule.deactivates_at,
                retired_at=schedule.retired_at,
            )
        )

    def rewrap(self) -> int:
        """Re-seal every private key under the first key-encryption key; the count."""
        changed = 0
        for row in self.conn.execute(sa.select(TABLE.c.kid, TABLE.c.private_key)).all():
            try:
                if not self.envelope.needs_rewrap(row.private_key):
                    continue
                sealed = self.envelope.rewrap(row.private_key, context(row.kid))
            except DecryptionError as exc:
                raise SigningKeyError(
                    f"signing key {row.kid} in the database cannot be decrypted: {exc}"
                ) from None
            self.conn.execute(
                TABLE.update().where(TABLE.c.kid == row.kid).values(private_key=sealed)
            )
            changed += 1
        return changed
