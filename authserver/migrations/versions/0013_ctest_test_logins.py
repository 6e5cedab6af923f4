"""console test logins: a federated round trip marked as a test of an admin's session

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("federation_logins", schema=None) as batch_op:
        batch_op.add_column(sa.Column("test_session_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("test_admin_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("test_result", sa.JSON(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_federation_logins_test_admin_id_users"),
            "users",
            ["test_admin_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index(
            batch_op.f("ix_federation_logins_test_admin_id"), ["test_admin_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("federation_logins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_federation_logins_test_admin_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_federation_logins_test_admin_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("test_result")
        batch_op.drop_column("test_admin_id")
        batch_op.drop_column("test_session_hash")
