"""What an administrator does to a user: change the roles, disable, re-enable, end all
sessions. Disabling and a role change also log the user out everywhere (no token of
theirs stays good)."""

from __future__ import annotations

from collections.abc import Iterable

from authserver.accounts import login_sessions, roles
from authserver.clock import Clock, to_datetime
from authserver.errors import InvalidInput, NotFound
from authserver.storage.db import UnitOfWork
from authserver.storage.models import User


def get_user(uow: UnitOfWork, user_id: str) -> User:
    user = uow.users.get(user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


def set_role(uow: UnitOfWork, clock: Clock, user_id: str, role: str) -> User:
    """The seed API's single role: `admin` grants the admin role on top of the others,
    `user` takes it away."""
    if role not in roles.BUILT_IN:
        raise InvalidInput(f"role must be one of {', '.join(roles.BUILT_IN)}")
    user = get_user(uow, user_id)
    held = set(user.roles or [])
    held = held | {role} if role == roles.ADMIN_ROLE else held - {roles.ADMIN_ROLE}
    return set_roles(uow, clock, user_id, held)


def set_roles(uow: UnitOfWork, clock: Clock, user_id: str, wanted: Iterable[str]) -> User:
    """Exactly these roles (plus `user`). Every token carries the roles it was issued
    under (and refresh families keep their scopes, e.g. `admin`): none outlives a change."""
    user = get_user(uow, user_id)
    roles.set_roles(uow, clock, user, wanted)
    return user


def set_disabled(uow: UnitOfWork, clock: Clock, user_id: str, disabled: bool) -> User:
    user = get_user(uow, user_id)
    now = to_datetime(clock.now())
    if disabled and user.disabled_at is None:
        user.disabled_at = now
        login_sessions.end_all(uow, clock, user_id, reason="disabled")
    elif not disabled:
        user.disabled_at = None
    user.updated_at = now
    return user
