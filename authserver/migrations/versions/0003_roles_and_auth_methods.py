"""role sets, and the authentication methods of login sessions, codes and families

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import authserver.storage.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "roles",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("created_at", authserver.storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_roles")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("roles", sa.JSON(), nullable=True))
    conn = op.get_bind()
    users = sa.table("users", sa.column("role", sa.String), sa.column("roles", sa.JSON))
    conn.execute(users.update().where(users.c.role == "admin").values(roles=["admin", "user"]))
    conn.execute(users.update().where(users.c.role != "admin").values(roles=["user"]))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("roles", existing_type=sa.JSON(), nullable=False)
        batch_op.drop_column("role")

    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("auth_methods", sa.JSON(), nullable=True))
    # Every session so far began with a password (set-based: there may be many rows;
    # auth_time is stored as naive UTC on both backends).
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text(
                "UPDATE login_sessions SET auth_methods = "
                "json_build_object('pwd', floor(extract(epoch from auth_time))::bigint)"
            )
        )
    else:
        conn.execute(
            sa.text(
                "UPDATE login_sessions SET auth_methods = "
                "json_object('pwd', CAST(strftime('%s', auth_time) AS INTEGER))"
            )
        )
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.alter_column("auth_methods", existing_type=sa.JSON(), nullable=False)

    with op.batch_alter_table("authorization_codes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("amr", sa.JSON(), nullable=True))
    with op.batch_alter_table("token_families", schema=None) as batch_op:
        batch_op.add_column(sa.Column("amr", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("token_families", schema=None) as batch_op:
        batch_op.drop_column("amr")
    with op.batch_alter_table("authorization_codes", schema=None) as batch_op:
        batch_op.drop_column("amr")
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.drop_column("auth_methods")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("role", sa.String(length=32), nullable=True))
    conn = op.get_bind()
    users = sa.table(
        "users", sa.column("id", sa.String), sa.column("role", sa.String), sa.column("roles", sa.JSON)
    )
    for user_id, held in conn.execute(sa.select(users.c.id, users.c.roles)).fetchall():
        role = "admin" if "admin" in (held or []) else "user"
        conn.execute(users.update().where(users.c.id == user_id).values(role=role))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("role", existing_type=sa.String(length=32), nullable=False)
        batch_op.drop_column("roles")
    op.drop_table("roles")
