"""The upstream identities linked to a user: listed on the account page, the admin API
and the console's user page, unlinked there. Unlinking ends the sessions (and their
refresh families) that came through the identity. A person may not unlink the last way
they can sign in; an administrator may (to cut off an account)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from authserver import audit
from authserver.audit import AuditEvent
from authserver.clock import Clock
from authserver.errors import Conflict, NotFound
from authserver.federation import providers
from authserver.i18n.message import N_
from authserver.storage.db import UnitOfWork
from authserver.storage.models import User


@dataclass(frozen=True)
class LinkedIdentity:
    id: str
    provider_id: str
    provider_name: str
    subject: str
    email: str | None
    email_verified: bool
    linked_at: datetime
    last_login_at: datetime


def linked(uow: UnitOfWork, user_id: str) -> list[LinkedIdentity]:
    names = {p.id: p.display_name for p in uow.providers.list()}
    return [
        LinkedIdentity(
            id=i.id,
            provider_id=i.provider_id,
            provider_name=names.get(i.provider_id, i.provider_id),
            subject=i.subject,
            email=i.email,
            email_verified=i.email_verified,
            linked_at=i.created_at,
            last_login_at=i.last_login_at,
        )
        for i in uow.identities.of_user(user_id)
    ]


def one_of(identities: list[LinkedIdentity], identity_id: str) -> LinkedIdentity:
    """The identity ``identity_id`` among the user's ``identities``, else ``NotFound``."""
    found = next((i for i in identities if i.id == identity_id), None)
    if found is None:
        raise NotFound("no such linked identity")
    return found


def is_last_way_in(user: User, identities: list[LinkedIdentity]) -> bool:
    """Whether unlinking one of ``identities`` (all the user's) would leave the user no
    way to sign in: no password and no other identity."""
    return user.password_hash is None and len(identities) == 1


def unlink(
    uow: UnitOfWork,
    clock: Clock,
    user: User,
    identity_id: str,
    *,
    by_admin: str | None = None,
    via: str = "admin_api",
    ip: str | None = None,
    user_agent: str | None = None,
) -> LinkedIdentity:
    """Remove one of the user's identities (``NotFound`` if it is not theirs). The user
    themself cannot remove the last way to sign in (no password, no other identity):
    ``Conflict``. An administrator (``by_admin``, acting through ``via``: "admin_api" or
    "console") may."""
    identities = linked(uow, user.id)
    found = one_of(identities, identity_id)
    if by_admin is None and is_last_way_in(user, identities):
        raise Conflict(
            N_("This is the only way you can sign in: set a password before unlinking it.")
        )
    ended = providers.end_identity_logins(uow, clock, identity_id, reason="identity_unlinked")
    uow.identities.delete(identity_id)
    details = {"actor": by_admin, "via": via} if by_admin else {"via": "account"}
    audit.record(
        uow,
        clock,
        AuditEvent.FEDERATION_UNLINKED,
        user_id=user.id,
        ip=ip,
        user_agent=user_agent,
        provider=found.provider_id,
        subject=found.subject,
        sessions_ended=ended,
        **details,
    )
    return found
