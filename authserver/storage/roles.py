"""Defined role names, and which users hold one."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, exists, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from authserver.errors import Conflict
from authserver.storage.models import Role, User


class RoleRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, name: str) -> Role | None:
        return self.session.get(Role, name)

    def list(self) -> Sequence[Role]:
        return self.session.scalars(select(Role).order_by(Role.name)).all()

    def names(self) -> set[str]:
        return set(self.session.scalars(select(Role.name)))

    def add(self, role: Role) -> Role:
        """Insert a role; ``Conflict`` when the name is taken."""
        self.session.add(role)
        try:
            self.session.flush()
        except IntegrityError:
            raise Conflict(f"The role {role.name!r} already exists.") from None
        return role

    def delete(self, name: str) -> bool:
        result = self.session.execute(delete(Role).where(Role.name == name))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def holders(self, name: str) -> int:
        """How many users hold the role (a JSON-array membership test per backend)."""
        if self.session.get_bind().dialect.name == "postgresql":
            held = text("CAST(users.roles AS JSONB) ? :role").bindparams(role=name)
        else:
            held = exists(
                select(1)
                .select_from(func.json_each(User.roles).table_valued("value"))
                .where(text("value = :role").bindparams(role=name))
            )
        return self.session.scalar(select(func.count()).select_from(User).where(held)) or 0
