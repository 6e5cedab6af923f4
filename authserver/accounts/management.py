"""What an administrator does to a user: change the roles, disable, re-enable, end all
sessions, set a password, delete. Disabling, a role change and a new password also log
the user out everywhere (no token of theirs stays good). The CLI and the admin API both
call these, so they apply the same rules."""

from __future__ import annotations

from collections.abc import Iterable
from email.message import EmailMessage

from authserver.accounts import login_sessions, reset, roles, verification
from authserver.accounts.policy import check_password
from authserver.audit import AuditEvent
from authserver.clock import Clock, to_datetime
from authserver.errors import InvalidInput, NotFound
from authserver.services import Services
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


def set_email_verified(uow: UnitOfWork, clock: Clock, user_id: str, verified: bool) -> User:
    """The administrator vouches for the user's address (``True``: pending links are
    voided), or withdraws that (``False``: the user must follow a new link)."""
    return verification.mark_verified(uow, clock, get_user(uow, user_id), verified)


def delete_user(uow: UnitOfWork, user_id: str) -> None:
    """Delete the user with their sessions, token families, consents and reset tokens:
    introspection and userinfo answer inactive for their tokens from now on."""
    get_user(uow, user_id)
    uow.users.delete(user_id)


def set_password(
    uow: UnitOfWork, services: Services, user_id: str, password: str, actor: str | None
) -> EmailMessage:
    """An administrator sets the user's password (the policy applies): the user is signed
    out everywhere. Returns the "your password was changed" notice to deliver."""
    user = get_user(uow, user_id)
    check_password(password, email=user.email)
    return reset.replace_password(
        uow, services, user, password, AuditEvent.PASSWORD_CHANGED, actor=actor
    )
