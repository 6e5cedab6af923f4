"""Self-service sign-up: e-mail checked and normalised (a second account for the same
address in another case is a duplicate), password policy, argon2id hash, audited.

On an open sign-up form, "that address already has an account" necessarily tells the
visitor the address is registered; the issue asks for that clear message, so sign-ups
are throttled per client IP to keep it from becoming a cheap enumeration oracle."""

from __future__ import annotations

import unicodedata

from authserver import audit
from authserver.accounts.throttle import Throttle
from authserver.accounts.users import create_user
from authserver.audit import AuditEvent
from authserver.errors import InvalidInput, RateLimited
from authserver.i18n.message import N_
from authserver.services import Services
from authserver.storage.db import UnitOfWork
from authserver.storage.models import User

MAX_NAME_CHARS = 200
# Bidirectional overrides and isolates can make a name display as something else.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def clean_name(name: str | None) -> str | None:
    """A display name as typed (HTML in it is just text: every page escapes it), or
    None. Refused: too long, control characters, text-direction overrides."""
    name = (name or "").strip()
    if not name:
        return None
    if len(name) > MAX_NAME_CHARS:
        raise InvalidInput(
            N_("Use at most %(count)s characters for your name.", count=MAX_NAME_CHARS),
            field="name",
        )
    if any(unicodedata.category(ch) in ("Cc", "Cs") or ch in BIDI_CONTROLS for ch in name):
        raise InvalidInput(N_("Your name contains characters that cannot be shown."), field="name")
    return name


def register(
    uow: UnitOfWork,
    services: Services,
    *,
    email: str,
    password: str,
    name: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
) -> User:
    """Create an account. Raises ``RateLimited`` (too many sign-ups from this address),
    ``InvalidInput`` (e-mail syntax, name, password policy) or ``Conflict`` (taken)."""
    wait = Throttle(services.ratelimiter, services.settings).signup(ip)
    if wait is not None:
        raise RateLimited(wait)
    user = create_user(
        uow,
        services.passwords,
        services.clock,
        email=email,
        password=password,
        name=clean_name(name),
        email_verified=False,
    )
    audit.record(
        uow, services.clock, AuditEvent.REGISTERED, user_id=user.id, ip=ip, user_agent=user_agent
    )
    return user
