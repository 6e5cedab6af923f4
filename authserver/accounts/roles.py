"""Roles: names an administrator defines (`user` and `admin` always exist), held by users
as a set. Tokens carry the set as `roles` and the seed-compatible single `role` (`admin`
if held, else `user`). A change of a user's set ends their sessions and refresh families:
every token carries the roles it was issued under (DESIGN.md: users, roles)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from authserver.accounts import login_sessions
from authserver.clock import Clock, to_datetime
from authserver.errors import Conflict, InvalidInput, NotFound
from authserver.storage.db import UnitOfWork
from authserver.storage.models import Role, User

DEFAULT_ROLE = "user"
ADMIN_ROLE = "admin"
# Built-in roles are not rows: they exist whatever the table holds.
BUILT_IN = {ADMIN_ROLE: "Administrators", DEFAULT_ROLE: "Every user"}
ROLE_NAME = re.compile(r"[a-z][a-z0-9_.:-]{0,63}")
MAX_ROLES_PER_USER = 64


def primary_role(roles: Iterable[str]) -> str:
    """The single `role` claim of the original service: `admin` if held, else `user`."""
    return ADMIN_ROLE if ADMIN_ROLE in roles else DEFAULT_ROLE


def normalise(roles: Iterable[str]) -> list[str]:
    """A stored role set: sorted, no duplicates, always holding the default role."""
    return sorted({DEFAULT_ROLE, *roles})


def check_name(name: str) -> str:
    if not isinstance(name, str) or not ROLE_NAME.fullmatch(name):
        raise InvalidInput(
            "A role name is 1 to 64 characters: lower-case letters, digits and _ . : -, "
            "starting with a letter."
        )
    return name


@dataclass(frozen=True)
class RoleInfo:
    name: str
    description: str
    built_in: bool


def list_roles(uow: UnitOfWork) -> list[RoleInfo]:
    """Every role a user can hold, built-in ones first."""
    out = [RoleInfo(name, text, True) for name, text in BUILT_IN.items()]
    out += [RoleInfo(r.name, r.description, False) for r in uow.roles.list()]
    return out


def define(uow: UnitOfWork, clock: Clock, name: str, description: str = "") -> Role:
    if check_name(name) in BUILT_IN:
        raise Conflict(f"The role {name!r} already exists.")
    if len(description) > 200:
        raise InvalidInput("A role description is at most 200 characters.")
    role = Role(name=name, description=description, created_at=to_datetime(clock.now()))
    return uow.roles.add(role)


def remove(uow: UnitOfWork, name: str) -> None:
    """Delete a defined role. Built-in roles stay; a role someone holds stays too (take
    it from them first: that ends their sessions, which deleting a row would not)."""
    if name in BUILT_IN:
        raise InvalidInput(f"The built-in role {name!r} cannot be deleted.")
    if uow.roles.get(name) is None:
        raise NotFound(f"no role {name}")
    held_by = uow.roles.holders(name)
    if held_by:
        raise Conflict(f"The role {name!r} is held by {held_by} user(s).")
    uow.roles.delete(name)


def validate(uow: UnitOfWork, roles: Iterable[str]) -> list[str]:
    """The normalised set, or ``InvalidInput`` naming roles that are not defined."""
    wanted = normalise(roles)
    if len(wanted) > MAX_ROLES_PER_USER:
        raise InvalidInput(f"A user holds at most {MAX_ROLES_PER_USER} roles.")
    unknown = [r for r in wanted if r not in BUILT_IN and uow.roles.get(r) is None]
    if unknown:
        raise InvalidInput(f"No such role: {', '.join(unknown)}")
    return wanted


def set_roles(uow: UnitOfWork, clock: Clock, user: User, roles: Iterable[str]) -> bool:
    """Give the user exactly ``roles`` (plus the default role). True when the set changed:
    then every session and refresh family of the user has ended."""
    wanted = validate(uow, roles)
    if wanted == normalise(user.roles or []):
        return False
    login_sessions.end_all(uow, clock, user.id, reason="role_changed")
    user.roles = wanted
    user.updated_at = to_datetime(clock.now())
    return True
