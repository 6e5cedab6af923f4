"""The one password check behind every login (hosted page, password grant, change
password): throttled per account and per client IP, audited, and giving the same answer
after the same work (one password hash) for an unknown e-mail as for a wrong password."""

from __future__ import annotations

from dataclasses import dataclass

from authserver import audit
from authserver.accounts.passwords import PasswordHasher
from authserver.accounts.throttle import Throttle
from authserver.audit import AuditEvent
from authserver.clock import Clock, to_datetime
from authserver.errors import InvalidInput, RateLimited
from authserver.i18n.message import N_
from authserver.services import Services
from authserver.storage.db import UnitOfWork
from authserver.storage.models import User

MAX_PASSWORD_CHARS = 256
MAX_EMAIL_CHARS = 320
WRONG_CURRENT = N_("Your current password is not correct.")


@dataclass(frozen=True)
class LoginResult:
    """``user`` when the password is right. ``retry_after`` (seconds) when the attempt
    was throttled: then the password was not checked at all."""

    user: User | None
    retry_after: int | None = None


def authenticate(
    uow: UnitOfWork,
    services: Services,
    email: str,
    password: str,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
    client_id: str | None = None,
    purpose: str = "login",
    device: str | None = None,
) -> LoginResult:
    """Check an e-mail and password. The outcome (ok, failed, throttled) is written to
    the audit log in the caller's transaction, which should be committed whatever the
    outcome. A stored hash made with older parameters (or bcrypt) is replaced on success.
    ``device``: the id of a device cookie proven for this e-mail (the hosted page only)."""
    throttle = Throttle(services.ratelimiter, services.settings)
    who = {"ip": ip, "user_agent": user_agent, "client_id": client_id, "purpose": purpose}
    wait = throttle.begin_password_check(email, ip, device)
    if wait is not None:
        known = _find(uow, email)
        audit.record(
            uow,
            services.clock,
            AuditEvent.LOGIN_THROTTLED,
            user_id=known.id if known else None,
            retry_after=wait,
            **who,
        )
        return LoginResult(None, retry_after=wait)
    known, ok = _verify(uow, services.passwords, services.clock, email, password)
    if not ok or known is None:
        reason = "unknown_email" if known is None else "wrong_password_or_disabled"
        audit.record(
            uow,
            services.clock,
            AuditEvent.LOGIN_FAILED,
            user_id=known.id if known else None,
            reason=reason,
            **who,
        )
        return LoginResult(None)
    throttle.password_ok(email, ip, device)
    audit.record(uow, services.clock, AuditEvent.LOGIN_OK, user_id=known.id, **who)
    return LoginResult(known)


def check_current_password(
    uow: UnitOfWork,
    services: Services,
    user: User,
    password: str,
    *,
    purpose: str,
    ip: str | None = None,
    user_agent: str | None = None,
) -> None:
    """A signed-in user confirms a change with their current password, checked like any
    login (``authenticate``: throttled, audited with ``purpose``). Raises ``RateLimited``,
    or ``InvalidInput`` on the ``current_password`` field."""
    result = authenticate(
        uow, services, user.email, password, ip=ip, user_agent=user_agent, purpose=purpose
    )
    if result.retry_after is not None:
        raise RateLimited(result.retry_after)
    if result.user is None or result.user.id != user.id:
        raise InvalidInput(WRONG_CURRENT, field="current_password")


def _find(uow: UnitOfWork, email: str) -> User | None:
    return uow.users.find_by_email(email) if len(email) <= MAX_EMAIL_CHARS else None


def _verify(
    uow: UnitOfWork, hasher: PasswordHasher, clock: Clock, email: str, password: str
) -> tuple[User | None, bool]:
    """The account the e-mail names (if any) and whether the password opens it; exactly
    one password-hash computation either way."""
    if len(email) > MAX_EMAIL_CHARS or len(password) > MAX_PASSWORD_CHARS:
        hasher.verify_dummy(password[:MAX_PASSWORD_CHARS])
        return None, False
    user = uow.users.find_by_email(email)
    if user is None:
        hasher.verify_dummy(password)
        return None, False
    result = hasher.verify(user.password_hash, password)
    if not result.ok or user.disabled_at is not None:
        return user, False
    if result.needs_rehash:
        uow.users.set_password_hash(user.id, hasher.hash(password), to_datetime(clock.now()))
    return user, True
