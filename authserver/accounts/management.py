"""What an administrator does to a user: change the role, disable, re-enable, end all
sessions. Disabling and a role change also log the user out everywhere (no token of
theirs stays good)."""

from __future__ import annotations

from authserver.accounts import login_sessions
from authserver.accounts.users import ROLES
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
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
    user = get_user(uow, user_id)
    if user.role != role:
        # Every token carries the role it was issued under (and refresh families keep
        # their scopes, e.g. `admin`): none may outlive the change.
        login_sessions.end_all(uow, clock, user_id, reason="role_changed")
    user.role = role
    user.updated_at = to_datetime(clock.now())
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
