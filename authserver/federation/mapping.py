"""Group -> role rules. Roles come only from explicit rules: no rule, no groups claim or
an overflowing one grant nothing beyond the default role (DESIGN.md), and a rule naming
a role that no longer exists grants nothing rather than failing the login."""

from __future__ import annotations

from authserver.accounts import roles
from authserver.federation.config import Mapping
from authserver.storage.db import UnitOfWork


def mapped_roles(uow: UnitOfWork, mapping: Mapping, groups: tuple[str, ...] | None) -> list[str]:
    """The roles the rules give for ``groups`` (always with the default role)."""
    granted: set[str] = set()
    for group in groups or ():
        granted.update(mapping.group_roles.get(group, ()))
    defined = {r.name for r in roles.list_roles(uow)}
    return roles.normalise(r for r in granted if r in defined)
