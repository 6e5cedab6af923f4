"""initial access tokens: always an expiry, and a use count (max_uses, uses, last_used_at)

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

import authserver.storage.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A token issued without an expiry stops working a day after the upgrade (the
    # default lifetime of new ones): time to issue bounded replacements.
    tokens = sa.table(
        "initial_access_tokens",
        sa.column("expires_at", authserver.storage.types.UTCDateTime()),
    )
    op.get_bind().execute(
        tokens.update()
        .where(tokens.c.expires_at.is_(None))
        .values(expires_at=datetime.now(UTC) + timedelta(days=1))
    )
    with op.batch_alter_table("initial_access_tokens", schema=None) as batch_op:
        batch_op.alter_column(
            "expires_at", existing_type=authserver.storage.types.UTCDateTime(), nullable=False
        )
        batch_op.add_column(sa.Column("max_uses", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("uses", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.add_column(
            sa.Column("last_used_at", authserver.storage.types.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("initial_access_tokens", schema=None) as batch_op:
        batch_op.alter_column(
            "expires_at", existing_type=authserver.storage.types.UTCDateTime(), nullable=True
        )
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("uses")
        batch_op.drop_column("max_uses")
