"""The audit trail: every security event, with time, user, client, IP and user agent."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from authserver.clock import Clock, to_datetime
from authserver.storage.db import UnitOfWork


class AuditEvent(StrEnum):
    LOGIN_OK = "login.ok"
    LOGIN_FAILED = "login.failed"
    LOGIN_THROTTLED = "login.throttled"
    LOGOUT = "logout"
    REGISTERED = "user.registered"
    USER_CREATED = "user.created"
    USER_CHANGED = "user.changed"
    ROLE_CREATED = "role.created"
    ROLE_DELETED = "role.deleted"
    USER_DELETED = "user.deleted"
    RESET_REQUESTED = "password.reset_requested"
    RESET_DONE = "password.reset_done"
    PASSWORD_CHANGED = "password.changed"
    SESSIONS_ENDED = "sessions.ended"
    REFRESH_REUSE = "token.refresh_reuse_detected"
    CODE_REUSE = "token.code_reuse_detected"
    TOKEN_REVOKED = "token.revoked"
    CLIENT_CREATED = "client.created"
    CLIENT_CHANGED = "client.changed"
    CLIENT_DELETED = "client.deleted"
    INITIAL_TOKEN_ISSUED = "registration.initial_token_issued"
    INITIAL_TOKEN_USED = "registration.initial_token_used"
    INITIAL_TOKEN_REFUSED = "registration.initial_token_refused"
    KEY_ROTATED = "key.rotated"
    KEY_RETIRED = "key.retired"
    KEY_IMPORTED = "key.imported"
    SCOPE_DESCRIBED = "scope.described"
    EMAIL_VERIFICATION_SENT = "email.verification_sent"
    EMAIL_VERIFIED = "email.verified"
    EMAIL_CHANGE_REQUESTED = "email.change_requested"
    EMAIL_CHANGED = "email.changed"
    PROFILE_CHANGED = "user.profile_changed"
    CONSENT_REVOKED = "consent.revoked"
    ACCOUNT_DELETED = "user.deleted"
    PROVIDER_CREATED = "provider.created"
    PROVIDER_CHANGED = "provider.changed"
    PROVIDER_REMOVED = "provider.removed"
    CONSOLE_PROVIDER_TEST = "console.provider_test"
    FEDERATION_LOGIN = "federation.login"
    FEDERATION_JIT_CREATED = "federation.jit_created"
    FEDERATION_LINK_CONFIRMED = "federation.link_confirmed"
    FEDERATION_UNLINKED = "federation.unlinked"
    FEDERATION_ROLE_MAPPED = "federation.role_mapped"
    FEDERATION_REJECTED = "federation.rejected"
    MFA_ENROLLED = "mfa.enrolled"
    MFA_REMOVED = "mfa.removed"
    MFA_OK = "mfa.ok"
    MFA_FAILED = "mfa.failed"
    MFA_THROTTLED = "mfa.throttled"
    RECOVERY_CODE_USED = "mfa.recovery_code_used"
    RECOVERY_CODES_GENERATED = "mfa.recovery_codes_generated"
    MFA_RESET = "mfa.reset"


def record(
    uow: UnitOfWork,
    clock: Clock,
    event: AuditEvent,
    *,
    user_id: str | None = None,
    client_id: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    **details: Any,
) -> None:
    """Add an event to the caller's transaction: it is kept exactly when the change it
    describes is."""
    uow.audit.add(
        at=to_datetime(clock.now()),
        event=str(event),
        user_id=user_id,
        client_id=client_id,
        ip=ip,
        user_agent=user_agent,
        details=details,
    )
