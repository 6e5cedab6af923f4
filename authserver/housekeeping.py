"""What ``authserver cleanup`` deletes: rows that can no longer matter at once, rows that
ended or expired after ``expired_retention_days`` (kept that long for investigation),
and audit events after ``audit_retention_days``."""

from __future__ import annotations

from datetime import timedelta

from authserver.accounts import login_sessions
from authserver.clock import Clock, to_datetime
from authserver.settings import Settings
from authserver.storage.db import UnitOfWork


def purge(uow: UnitOfWork, clock: Clock, settings: Settings) -> dict[str, int]:
    """Delete them; returns how many rows of each kind."""
    now = to_datetime(clock.now())
    kept_since = now - timedelta(days=settings.expired_retention_days)
    return {
        "tokens": uow.tokens.purge_expired(now),
        "authorization_codes": uow.codes.purge(kept_since),
        "reset_tokens": uow.reset_tokens.purge(kept_since),
        "login_sessions": login_sessions.purge(uow, clock, settings),
        "audit_events": uow.audit.purge(now - timedelta(days=settings.audit_retention_days)),
        # Round trips and pending links matter only until they expire (minutes).
        "federation_flows": uow.federation_flows.purge(now),
        "email_verification_tokens": uow.email_tokens.purge(kept_since),
        # Sign-ins waiting for a second factor and WebAuthn ceremonies: minutes long.
        "pending_sign_ins": uow.mfa.purge_pending(now),
        "webauthn_challenges": uow.mfa.purge_challenges(now),
    }
