"""Users: find, create, change roles or disable, end sessions (one or all), delete, set
or reset the password, unlink an upstream identity, reset the second factors. The rules
are ``accounts.management``'s, ``federation.identities``' and ``mfa.factors``' (shared
with the CLI and the account page); this adds the admin's own limits and the audit
record."""

from __future__ import annotations

from collections.abc import Sequence
from email.message import EmailMessage
from typing import Any

from authserver.accounts import account, login_sessions, management, reset
from authserver.accounts.users import create_user
from authserver.audit import AuditEvent
from authserver.errors import Conflict, NotFound
from authserver.federation import identities as linked_identities
from authserver.federation.identities import LinkedIdentity
from authserver.manage.call import AdminCall
from authserver.mfa import factors
from authserver.storage.models import User

MAX_QUERY = 320


def find(call: AdminCall, query: str | None, offset: int, limit: int) -> tuple[Sequence[User], int]:
    """A page of users whose e-mail address or id contains ``query`` (all without one),
    oldest first; and how many match."""
    text = (query or "").strip()[:MAX_QUERY] or None
    rows = call.uow.users.list(offset=offset, limit=limit, containing=text)
    return rows, call.uow.users.count(containing=text)


def find_by_email(call: AdminCall, email: str) -> User | None:
    return call.uow.users.find_by_email(email)


def get(call: AdminCall, user_id: str) -> User:
    return management.get_user(call.uow, user_id)


def create(call: AdminCall, fields: dict[str, Any]) -> User:
    services = call.services
    user = create_user(call.uow, services.passwords, services.clock, **fields)
    call.audit(AuditEvent.USER_CREATED, user_id=user.id, roles=list(user.roles))
    return user


def update(call: AdminCall, user_id: str, changes: dict[str, Any]) -> User:
    """``changes``: any of ``role`` (the seed API's admin/user), ``roles`` (exactly
    these), ``disabled``,
    ``email_verified``. A role change or disabling ends the user's sessions."""
    clock = call.services.clock
    user = management.get_user(call.uow, user_id)
    if changes.get("disabled") and user_id == call.admin_id:
        raise Conflict("an administrator cannot disable their own account here")
    if "role" in changes:
        user = management.set_role(call.uow, clock, user_id, changes["role"])
    if "roles" in changes:
        user = management.set_roles(call.uow, clock, user_id, changes["roles"])
    if "disabled" in changes:
        user = management.set_disabled(call.uow, clock, user_id, changes["disabled"])
    if "email_verified" in changes:
        verified = changes["email_verified"]
        user = management.set_email_verified(call.uow, clock, user_id, verified)
    call.audit(AuditEvent.USER_CHANGED, user_id=user_id, changes=changes)
    return user


def sessions(call: AdminCall, user_id: str) -> account.Overview:
    """The user's live sessions, each with the apps signed in through it."""
    management.get_user(call.uow, user_id)
    return account.sessions_of(call.uow, call.services, user_id)


def end_sessions(call: AdminCall, user_id: str) -> int:
    """Every session and token family of the user ended; how many sessions."""
    management.get_user(call.uow, user_id)
    ended = login_sessions.end_all(call.uow, call.services.clock, user_id, reason="admin")
    call.audit(AuditEvent.SESSIONS_ENDED, user_id=user_id, count=ended, scope="all")
    return ended


def end_session(call: AdminCall, user_id: str, session_id: str) -> None:
    """End one live session of the user (and the token families issued under it)."""
    target = call.uow.login_sessions.get(session_id) if len(session_id) <= 64 else None
    if target is None or target.user_id != user_id or target.ended_at is not None:
        raise NotFound("no such live session of this user")
    login_sessions.end(call.uow, call.services.clock, session_id, reason="admin")
    call.audit(AuditEvent.SESSIONS_ENDED, user_id=user_id, count=1, scope="one")


def delete(call: AdminCall, user_id: str) -> None:
    if user_id == call.admin_id:
        raise Conflict("an administrator cannot delete their own account here")
    management.delete_user(call.uow, user_id)
    call.audit(AuditEvent.USER_DELETED, user_id=user_id)


def reset_password(call: AdminCall, user_id: str, password: str | None) -> EmailMessage:
    """Set ``password`` (policy applies), or without one e-mail a reset link; returns the
    message to deliver after commit."""
    services = call.services
    if password is None:
        user = management.get_user(call.uow, user_id)
        return reset.send_link(call.uow, services, user, actor=call.admin_id)
    return management.set_password(call.uow, services, user_id, password, actor=call.admin_id)


def identities(call: AdminCall, user_id: str) -> list[LinkedIdentity]:
    """The upstream identities linked to the user (provider, upstream e-mail, last used)."""
    management.get_user(call.uow, user_id)
    return linked_identities.linked(call.uow, user_id)


def identity(call: AdminCall, user_id: str, identity_id: str) -> tuple[LinkedIdentity, bool]:
    """One of the user's identities (``NotFound`` if not theirs), and whether it is the
    user's last way to sign in (an administrator may still unlink it)."""
    user = management.get_user(call.uow, user_id)
    mine = linked_identities.linked(call.uow, user_id)
    return linked_identities.one_of(mine, identity_id), linked_identities.is_last_way_in(user, mine)


def unlink_identity(call: AdminCall, user_id: str, identity_id: str) -> LinkedIdentity:
    """Unlink one of the user's identities; the sessions that came through it end.
    Audited ``federation.unlinked`` with the acting admin and the channel."""
    user = management.get_user(call.uow, user_id)
    return linked_identities.unlink(
        call.uow,
        call.services.clock,
        user,
        identity_id,
        by_admin=call.admin_id,
        via=call.via,
        ip=call.ip,
        user_agent=call.user_agent,
    )


def second_factors(call: AdminCall, user_id: str) -> factors.Overview:
    """The user's second factors (authenticator app, passkeys / security keys) and how
    many recovery codes are left; never a secret."""
    management.get_user(call.uow, user_id)
    return factors.overview(call.uow, user_id)


def reset_second_factors(call: AdminCall, user_id: str) -> factors.Reset:
    """Remove every second factor and recovery code of the user (a lost phone); their
    sessions and tokens end. Audited ``mfa.reset`` with the acting admin and the channel."""
    management.get_user(call.uow, user_id)
    return factors.reset(
        call.uow,
        call.services,
        user_id,
        actor=call.admin_id,
        via=call.via,
        ip=call.ip,
        user_agent=call.user_agent,
    )
