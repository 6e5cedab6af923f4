"""The upstream identities linked to a user: listed on the account page and the admin
API, unlinked there. Unlinking ends the sessions (and their refresh families) that came
through the identity. A person may not unlink the last way they can sign in; an
administrator may (to cut off an account)."""

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


def unlink(
    uow: UnitOfWork,
    clock: Clock,
    user: User,
    identity_id: str,
    *,
    by_admin: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
) -> LinkedIdentity:
    """Remove one of the user's identities (``NotFound`` if it is not theirs). The user
    themself cannot remove the last way to sign in (no password, no other identity):
    ``Conflict``."""
    mine = {i.id: i for i in linked(uow, user.id)}
    found = mine.get(identity_id) if isinstance(identity_id, str) else None
    if found is None:
        raise NotFound("no such linked identity")
    if by_admin is None and user.password_hash is None and len(mine) == 1:
        raise Conflict(
            N_("This is the only way you can sign in: set a password before unlinking it.")
        )
    ended = providers.end_identity_logins(uow, clock, identity_id, reason="identity_unlinked")
    uow.identities.delete(identity_id)
    details = {"actor": by_admin, "via": "admin_api"} if by_admin else {"via": "account"}
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
