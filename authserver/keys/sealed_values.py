"""The values sealed with the envelope outside the key store (upstream client secrets,
authenticator-app keys), for ``authserver keys rewrap``: rotating the key-encryption key
must re-seal *every* sealed value, or dropping the old KEK locks out each TOTP user and
breaks each provider login (DESIGN: one mechanism, with a documented way to rotate it).

A new sealed column joins ``COLUMNS`` with the context its owner seals under."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from authserver.federation.providers import secret_context
from authserver.keys.envelope import SETTING, VERSION, DecryptionError, Envelope, kek_id
from authserver.mfa import totp
from authserver.storage.models import IdentityProvider, TotpFactor


@dataclass(frozen=True)
class SealedColumn:
    name: str
    table: sa.Table
    column: str
    context: Callable[[str], str]


COLUMNS = (
    SealedColumn(
        "upstream client secrets",
        IdentityProvider.__table__,  # type: ignore[arg-type]
        "client_secret_sealed",
        secret_context,
    ),
    SealedColumn(
        "authenticator app keys",
        TotpFactor.__table__,  # type: ignore[arg-type]
        "secret_sealed",
        totp._context,
    ),
)


def rewrap(conn: Connection, envelope: Envelope) -> dict[str, int]:
    """Re-seal each value under the first KEK; how many changed, per column. A value
    that does not open raises ``DecryptionError`` naming its row."""
    counts: dict[str, int] = {}
    for sealed in COLUMNS:
        id_, value = sealed.table.c.id, sealed.table.c[sealed.column]
        changed = 0
        for row_id, token in conn.execute(sa.select(id_, value).where(value.is_not(None))).all():
            try:
                if not envelope.needs_rewrap(token):
                    continue
                new = envelope.rewrap(token, sealed.context(row_id))
            except DecryptionError as exc:
                raise DecryptionError(f"{sealed.name}, row {row_id}: {exc}") from None
            # Only if unchanged meanwhile (a re-enrolment or a new secret wins).
            conn.execute(
                sealed.table.update()
                .where(id_ == row_id, value == token)
                .values({sealed.column: new})
            )
            changed += 1
        counts[sealed.name] = changed
    return counts


def unknown_keks(conn: Connection, envelope: Envelope) -> list[str]:
    """A problem per column holding values sealed under a KEK that is not configured
    (dropped before ``keys rewrap``): found from the stored KEK ids, nothing decrypted."""
    known = {kek_id(k) for k in envelope.keks}
    start = len(VERSION) + 2  # "v1.<kek id>.": 1-based position of the id
    problems = []
    for sealed in COLUMNS:
        value = sealed.table.c[sealed.column]
        query = sa.select(sa.func.substr(value, start, 16)).where(value.is_not(None)).distinct()
        missing = sorted(set(conn.execute(query).scalars()) - known)
        if missing:
            problems.append(
                f"{SETTING}: {sealed.name} are sealed under key-encryption key(s) "
                f"{', '.join(missing)}, which are not configured: add them back (and run "
                "`authserver keys rewrap` before dropping a key)"
            )
    return problems
