"""What the last sign-in through a provider brought (``authserver providers test ID``,
later the console's "test login"): the upstream's claims or SAML assertion as stored on
the identity (bounded, never a secret or a signature), what they mapped to here, and the
last refusal with its reason (from the audit log)."""

from __future__ import annotations

from typing import Any

from authserver.audit import AuditEvent
from authserver.federation import providers
from authserver.storage.db import UnitOfWork

RECENT_EVENTS = 200


def last_login(uow: UnitOfWork, provider_id: str) -> dict[str, Any]:
    """``NotFound`` for an unknown provider; otherwise the last login (None when there
    was none) and the last refusal (None when there was none)."""
    provider = providers.get(uow, provider_id)
    out: dict[str, Any] = {"provider": provider.id, "last_login": None, "last_refusal": None}
    identity = uow.identities.latest_of_provider(provider.id)
    if identity is not None:
        user = uow.users.get(identity.user_id)
        out["last_login"] = {
            "at": identity.last_login_at.isoformat(),
            "received": identity.claims,
            "mapped": {
                "subject": identity.subject,
                "email": identity.email,
                "email_verified": identity.email_verified,
                "user_id": identity.user_id,
                "roles": list(user.roles) if user else [],
            },
        }
    for event in uow.audit.query(event=AuditEvent.FEDERATION_REJECTED.value, limit=RECENT_EVENTS):
        details = event.details or {}
        # A console test login's refusal (``federation.dry_run``) is no real sign-in's.
        if details.get("provider") == provider.id and not details.get("test"):
            out["last_refusal"] = {
                "at": event.at.isoformat(),
                "reason": event.details.get("reason"),
                "detail": event.details.get("detail"),
            }
            break
    return out
