"""The second factors of a user, as the account page, the admin API, the CLI and the
console see and change them (one implementation of each rule)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from authserver import audit
from authserver.accounts import login_sessions
from authserver.audit import AuditEvent
from authserver.clock import to_datetime
from authserver.services import Services
from authserver.storage.db import UnitOfWork

FactorKind = Literal["totp", "webauthn"]


@dataclass(frozen=True)
class Factor:
    kind: FactorKind
    id: str
    created_at: datetime
    last_used_at: datetime | None
    # The name the user gave a passkey or security key (None for the authenticator app).
    name: str | None = None


@dataclass(frozen=True)
class Overview:
    factors: list[Factor]
    # Unused recovery codes (0 when there are none at all).
    recovery_codes_left: int
    recovery_codes_created_at: datetime | None

    @property
    def has_second_factor(self) -> bool:
        return bool(self.factors)

    def to_json(self) -> dict[str, object]:
        return {
            "factors": [
                {
                    "kind": f.kind,
                    "id": f.id,
                    "created_at": f.created_at.isoformat(),
                    "last_used_at": f.last_used_at.isoformat() if f.last_used_at else None,
                    "name": f.name,
                }
                for f in self.factors
            ],
            "recovery_codes_left": self.recovery_codes_left,
        }


def overview(uow: UnitOfWork, user_id: str) -> Overview:
    """The user's confirmed factors and how many recovery codes are left."""
    factors: list[Factor] = []
    totp = uow.mfa.totp_of(user_id)
    if totp is not None and totp.confirmed_at is not None:
        factors.append(Factor("totp", totp.id, totp.confirmed_at, totp.last_used_at))
    factors.extend(
        Factor("webauthn", c.id, c.created_at, c.last_used_at, c.name)
        for c in uow.mfa.webauthn_of(user_id)
    )
    return Overview(
        factors,
        uow.mfa.recovery_codes_left(user_id),
        uow.mfa.recovery_codes_created(user_id),
    )


def has_second_factor(uow: UnitOfWork, user_id: str) -> bool:
    """Whether a sign-in of this user must pass a second factor. Recovery codes alone do
    not count: they stand in for a factor, and go when the last factor goes."""
    totp = uow.mfa.totp_of(user_id)
    if totp is not None and totp.confirmed_at is not None:
        return True
    return uow.mfa.count_webauthn(user_id) > 0


def remove_totp(
    uow: UnitOfWork,
    services: Services,
    user_id: str,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
) -> bool:
    """Remove the user's authenticator app (and the recovery codes, when it was the last
    factor). Audited."""
    if not uow.mfa.delete_totp(user_id):
        return False
    _after_removal(uow, services, user_id, ip, user_agent, factor="totp")
    return True


def _after_removal(
    uow: UnitOfWork,
    services: Services,
    user_id: str,
    ip: str | None,
    user_agent: str | None,
    **details: str,
) -> None:
    """A factor is gone: the recovery codes go with the last one; audited."""
    if not has_second_factor(uow, user_id):
        uow.mfa.delete_recovery_codes(user_id)
    audit.record(
        uow,
        services.clock,
        AuditEvent.MFA_REMOVED,
        user_id=user_id,
        ip=ip,
        user_agent=user_agent,
        **details,
    )


@dataclass(frozen=True)
class Reset:
    factors_removed: int
    sessions_ended: int


def remove_webauthn(
    uow: UnitOfWork,
    services: Services,
    user_id: str,
    credential_row_id: str,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
) -> bool:
    """Remove one of the user's passkeys or security keys (recovery codes go with the
    last factor). Audited."""
    credential = credential_row_id[:64]
    if not uow.mfa.delete_webauthn(user_id, credential):
        return False
    _after_removal(
        uow, services, user_id, ip, user_agent, factor="webauthn", credential=credential
    )
    return True


def reset(
    uow: UnitOfWork,
    services: Services,
    user_id: str,
    *,
    actor: str,
    via: str,
    ip: str | None = None,
    user_agent: str | None = None,
) -> Reset:
    """An administrator removes every second factor and recovery code of a user (lost
    phone); their sessions and tokens end and sign-ins waiting for a factor are void.
    Audited with the acting admin (``actor``: their user id, or "cli")."""
    removed = len(overview(uow, user_id).factors)
    uow.mfa.delete_totp(user_id)
    uow.mfa.delete_webauthn(user_id)
    uow.mfa.delete_recovery_codes(user_id)
    uow.mfa.void_pending_of(user_id, to_datetime(services.clock.now()))
    ended = login_sessions.end_all(uow, services.clock, user_id, reason="mfa_reset")
    audit.record(
        uow,
        services.clock,
        AuditEvent.MFA_RESET,
        user_id=user_id,
        ip=ip,
        user_agent=user_agent,
        actor=actor,
        via=via,
        factors_removed=removed,
        sessions_ended=ended,
    )
    return Reset(removed, ended)
