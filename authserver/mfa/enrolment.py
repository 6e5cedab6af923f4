"""What a signed-in user does with their own second factors on the account page: set up
an authenticator app (confirmed by a first code), get a new set of recovery codes, remove
the app. Every change is audited."""

from __future__ import annotations

from dataclasses import dataclass

from authserver import audit
from authserver.accounts import auth_methods, login_sessions
from authserver.accounts.login_sessions import ActiveSession
from authserver.accounts.throttle import Throttle
from authserver.audit import AuditEvent
from authserver.mfa import factors, recovery, totp
from authserver.services import Services
from authserver.storage.db import UnitOfWork


@dataclass(frozen=True)
class Confirmed:
    # A first set of recovery codes, to show once (None when the user already had some).
    recovery_codes: list[str] | None
    retry_after: int | None = None
    ok: bool = True


def confirm_totp(
    uow: UnitOfWork,
    services: Services,
    session: ActiveSession,
    code: str,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
) -> Confirmed:
    """Confirm the app being set up with its first code (throttled like any code). The
    code is a second factor performed now, so the session records ``otp``/``mfa``; a user
    without recovery codes gets a first set."""
    user = session.user
    throttle = Throttle(services.ratelimiter, services.settings)
    throttle_wait = throttle.begin_second_factor_check(user.id, ip)
    who = {"user_id": user.id, "ip": ip, "user_agent": user_agent}
    if throttle_wait is not None:
        audit.record(
            uow, services.clock, AuditEvent.MFA_THROTTLED, retry_after=throttle_wait, **who
        )
        return Confirmed(None, throttle_wait, ok=False)
    if not totp.confirm(uow, services, user, code):
        audit.record(
            uow, services.clock, AuditEvent.MFA_FAILED, factor="totp", purpose="enrol", **who
        )
        return Confirmed(None, ok=False)
    throttle.second_factor_ok(user.id, ip)
    audit.record(uow, services.clock, AuditEvent.MFA_ENROLLED, factor="totp", **who)
    login_sessions.add_methods(
        uow, services.clock, session, [auth_methods.OTP, auth_methods.MULTI_FACTOR]
    )
    codes = None
    if uow.mfa.recovery_codes_left(user.id) == 0:
        codes = recovery.generate(uow, services, user.id)
        audit.record(uow, services.clock, AuditEvent.RECOVERY_CODES_GENERATED, **who)
    return Confirmed(codes)


def new_recovery_codes(
    uow: UnitOfWork,
    services: Services,
    session: ActiveSession,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
) -> list[str] | None:
    """A new set of recovery codes (the old set is void); None for a user with no second
    factor, for whom recovery codes would open nothing."""
    user = session.user
    if not factors.has_second_factor(uow, user.id):
        return None
    codes = recovery.generate(uow, services, user.id)
    audit.record(
        uow,
        services.clock,
        AuditEvent.RECOVERY_CODES_GENERATED,
        user_id=user.id,
        ip=ip,
        user_agent=user_agent,
    )
    return codes


def signed_in_recently(services: Services, session: ActiveSession) -> bool:
    """Whether the session's last sign-in is recent enough (``mfa_reauth_max_age``) to
    remove a factor: someone at an unattended, signed-in browser cannot take the second
    step off the account without the password (and the factor) again."""
    age = services.clock.now() - session.auth_time
    return age <= services.settings.mfa_reauth_max_age
