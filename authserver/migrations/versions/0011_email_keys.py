"""users.email_key by the documented rule (lower-cased local part, IDNA ASCII domain)
instead of str.casefold(), which merged distinct mailboxes (x@straße.de, x@strasse.de)

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import authserver.storage.types
from authserver.email_keys import email_key

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

log = logging.getLogger("authserver.migrations")
BATCH = 1000
CONFLICT_EVENT = "user.email_key_conflict"

users = sa.table(
    "users",
    sa.column("id", sa.String),
    sa.column("email", sa.String),
    sa.column("email_key", sa.String),
    sa.column("created_at", authserver.storage.types.UTCDateTime()),
)
audit = sa.table(
    "audit_events",
    sa.column("at", authserver.storage.types.UTCDateTime()),
    sa.column("event", sa.String),
    sa.column("user_id", sa.String),
    sa.column("details", sa.JSON),
)


def conflict_key(user_id: str, key: str) -> str:
    """A key no address has (it starts with "~" and holds the unique id): the account
    stays, with everything it owns, reachable by its id until an operator resolves it."""
    return f"~{user_id}~{key}"[:320]


def new_keys(rows: list[sa.Row]) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The rows whose key changes (id -> new key), and the conflicts (loser id, winner
    id). Of several accounts on one new key, one that already has it keeps it, else the
    oldest; the others get ``conflict_key``."""
    holder: dict[str, str] = {}
    for row in sorted(rows, key=lambda r: (r.email_key != email_key(r.email), r.created_at, r.id)):
        holder.setdefault(email_key(row.email), row.id)
    changed: dict[str, str] = {}
    conflicts: list[tuple[str, str]] = []
    for row in rows:
        key = email_key(row.email)
        if holder[key] != row.id:
            key = conflict_key(row.id, key)
            conflicts.append((row.id, holder[email_key(row.email)]))
        if key != row.email_key:
            changed[row.id] = key
    return changed, conflicts


def _update(conn: sa.Connection, keys: dict[str, str]) -> None:
    stmt = (
        users.update()
        .where(users.c.id == sa.bindparam("uid"))
        .values(email_key=sa.bindparam("key"))
    )
    items = list(keys.items())
    for start in range(0, len(items), BATCH):
        conn.execute(stmt, [{"uid": i, "key": k} for i, k in items[start : start + BATCH]])


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(users.c.id, users.c.email, users.c.email_key, users.c.created_at)
    ).all()
    changed, conflicts = new_keys(rows)
    # Two steps, so no row takes a key another still holds (the column is unique).
    _update(conn, {uid: f"~rekey~{uid}" for uid in changed})
    _update(conn, changed)
    now = datetime.now(UTC)
    for loser, winner in conflicts:
        log.warning(
            "users %s and %s have the same e-mail address under the new rule; %s keeps it, "
            "%s is kept and reachable by its id only (see the README)",
            winner,
            loser,
            winner,
            loser,
        )
        conn.execute(
            audit.insert().values(
                at=now, event=CONFLICT_EVENT, user_id=loser, details={"same_address_as": winner}
            )
        )


def downgrade() -> None:
    # The old rule, where it does not collide (a key shared under it keeps the new one).
    conn = op.get_bind()
    rows = conn.execute(sa.select(users.c.id, users.c.email, users.c.email_key)).all()
    taken: set[str] = set()
    old: dict[str, str] = {}
    for row in rows:
        key = row.email.strip().casefold()
        if key not in taken and key != row.email_key:
            old[row.id] = key
        taken.add(key)
    _update(conn, {uid: f"~rekey~{uid}" for uid in old})
    _update(conn, old)
