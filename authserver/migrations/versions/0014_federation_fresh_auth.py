"""federation_logins.fresh_auth: a round trip that must end in a fresh authentication

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Round trips in flight during the upgrade (at most ``federation_login_ttl`` old)
    # started before anyone asked for freshness: false, as they were sent upstream.
    with op.batch_alter_table("federation_logins", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("fresh_auth", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("federation_logins", schema=None) as batch_op:
        batch_op.drop_column("fresh_auth")
