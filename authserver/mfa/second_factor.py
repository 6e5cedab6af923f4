"""Checking what a person types as their second factor: a code from their authenticator
app or one of their recovery codes. Throttled per account and per client address like
passwords (counted before the check, so parallel guesses cannot pass the limit) and
audited either way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from authserver import audit
from authserver.accounts import auth_methods
from authserver.accounts.throttle import Throttle
from authserver.audit import AuditEvent
from authserver.mfa import recovery, totp
from authserver.services import Services
from authserver.storage.db import UnitOfWork

CodeKind = Literal["totp", "recovery"]
# RFC 8176 §2: a recovery code is a one-time password too.
METHODS = {"totp": [auth_methods.OTP], "recovery": [auth_methods.OTP]}


@dataclass(frozen=True)
class Checked:
    ok: bool
    # The RFC 8176 methods the success proves (empty on failure).
    methods: list[str]
    retry_after: int | None = None


def check(
    uow: UnitOfWork,
    services: Services,
    user_id: str,
    kind: CodeKind,
    text: str,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
    purpose: str = "sign_in",
) -> Checked:
    """Check one code. The audit record is in ``uow``: commit it whatever the outcome."""
    throttle = Throttle(services.ratelimiter, services.settings)
    who = {"user_id": user_id, "ip": ip, "user_agent": user_agent}
    wait = throttle.begin_second_factor_check(user_id, ip)
    if wait is not None:
        audit.record(
            uow, services.clock, AuditEvent.MFA_THROTTLED, retry_after=wait, factor=kind, **who
        )
        return Checked(False, [], wait)
    if kind == "totp":
        ok = totp.verify(uow, services, user_id, text)
    else:
        ok = recovery.use(uow, services, user_id, text)
    if not ok:
        audit.record(
            uow, services.clock, AuditEvent.MFA_FAILED, factor=kind, purpose=purpose, **who
        )
        return Checked(False, [])
    throttle.second_factor_ok(user_id, ip)
    if kind == "recovery":
        left = uow.mfa.recovery_codes_left(user_id)
        audit.record(uow, services.clock, AuditEvent.RECOVERY_CODE_USED, codes_left=left, **who)
    audit.record(uow, services.clock, AuditEvent.MFA_OK, factor=kind, purpose=purpose, **who)
    return Checked(True, METHODS[kind])
