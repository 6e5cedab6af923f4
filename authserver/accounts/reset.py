"""Password reset by e-mail link.

Tokens are 256-bit (``hashing.new_secret(32)``), stored only as SHA-256 hashes, valid
60 minutes, single use (an atomic conditional UPDATE), and a new request voids the older
ones. A request answers the same whether or not the address has an account, after the
same work: the token is minted and the message composed either way, and only its
delivery -- which the caller does after the answer has gone out -- differs.

A completed reset signs the user out everywhere: every login session and refresh-token
family ends and earlier access tokens stop being valid (``tokens_valid_after``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from urllib.parse import quote

from authserver import audit
from authserver.accounts import login_sessions
from authserver.accounts.policy import check_password
from authserver.accounts.throttle import Throttle
from authserver.accounts.users import name_for_mail, normalise_email
from authserver.audit import AuditEvent
from authserver.clock import to_datetime
from authserver.errors import InvalidInput, RateLimited
from authserver.hashing import new_secret, secret_hash
from authserver.i18n.message import N_
from authserver.mfa import factors
from authserver.services import Services
from authserver.storage.db import UnitOfWork
from authserver.storage.models import PasswordResetToken, User

RESET_TTL = timedelta(minutes=60)
MAX_TOKEN_CHARS = 128
# Voiding runs for unknown addresses too (matching no row), so both do the same queries.
NO_USER = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class ResetDone:
    user: User
    # "Your password was changed", to deliver after answering.
    message: EmailMessage
    # The pending authorization request the reset was started from, if any.
    return_path: str | None = None


class InvalidResetLink(InvalidInput):
    def __init__(self) -> None:
        super().__init__(
            N_(
                "This reset link is invalid, has expired or was already used. "
                "Ask for a new one below."
            )
        )


def request_reset(
    uow: UnitOfWork,
    services: Services,
    email: str,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
    locale: str | None = None,
    return_path: str | None = None,
) -> EmailMessage | None:
    """Start a reset for the account with this e-mail, if any. Returns the message to
    deliver (after answering), or None for an unknown or disabled address. ``return_path``:
    the pending authorization request to continue once the password is set. Raises
    ``InvalidInput`` for a malformed address and ``RateLimited``, both regardless of
    whether the address is registered."""
    address = normalise_email(email)
    wait = Throttle(services.ratelimiter, services.settings).reset_request(address, ip)
    if wait is not None:
        raise RateLimited(wait)
    user = uow.users.find_by_email(address)
    if user is not None and user.disabled_at is not None:
        user = None
    refused = user is not None and not may_set_password(uow, user)
    if refused:
        user = None  # same answer, same work: nothing tells the address is registered
    message = _mint_link(uow, services, user, address, locale, return_path)
    audit.record(
        uow,
        services.clock,
        AuditEvent.RESET_REQUESTED,
        user_id=user.id if user else None,
        ip=ip,
        user_agent=user_agent,
        known=user is not None,
        **({"refused": "federated_only"} if refused else {}),
    )
    return message if user is not None else None


def may_set_password(uow: UnitOfWork, user: User) -> bool:
    """Whether a reset link may give this user a password: always for a user who has
    one; a user created by an upstream provider (no password) only when one of their
    providers allows local passwords (its `allow_local_password` policy). Only JIT makes
    a user without a password, so one with no identity left had them all unlinked (by an
    administrator, or with their provider removed): cut off, not handed a password by
    whoever reads the address -- an administrator may give one (``send_link``)."""
    if user.password_hash is not None:
        return True
    for identity in uow.identities.of_user(user.id):
        provider = uow.providers.get(identity.provider_id)
        if provider is not None and (provider.policy or {}).get("allow_local_password") is True:
            return True
    return False


def send_link(uow: UnitOfWork, services: Services, user: User, actor: str | None) -> EmailMessage:
    """An administrator's reset for ``user`` (not throttled, also for a disabled user, who
    still cannot use the link while disabled): voids older links, audits, and returns the
    message to deliver."""
    message = _mint_link(uow, services, user, user.email)
    audit.record(
        uow, services.clock, AuditEvent.RESET_REQUESTED, user_id=user.id, actor=actor, known=True
    )
    return message


def _mint_link(
    uow: UnitOfWork,
    services: Services,
    user: User | None,
    address: str,
    locale: str | None = None,
    return_path: str | None = None,
) -> EmailMessage:
    """A new link for ``user`` (voiding older ones) and its message; for no user, the same
    work with nothing stored, so an unknown address costs what a known one does."""
    now = to_datetime(services.clock.now())
    token = new_secret(32)
    message = services.mail.compose(
        "password_reset",
        user.email if user else address,
        {
            "email": user.email if user else address,
            "name": name_for_mail(user) if user else None,
            "link": f"{services.settings.issuer}/password/reset?token={quote(token)}",
            "minutes": int(RESET_TTL.total_seconds() // 60),
            "issuer": services.settings.issuer,
        },
        locale,
    )
    uow.reset_tokens.void_all(user.id if user else NO_USER, now)
    if user is not None:
        uow.reset_tokens.add(
            PasswordResetToken(
                token_hash=secret_hash(token),
                user_id=user.id,
                return_path=return_path,
                created_at=now,
                expires_at=now + RESET_TTL,
            )
        )
    return message


def check_link(uow: UnitOfWork, services: Services, token: str | None, ip: str | None) -> User:
    """The user a reset token belongs to. Raises ``InvalidResetLink`` (unknown, used,
    expired, its user deleted or disabled) or ``RateLimited`` (too many bad links from
    this client address)."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        # Nothing to check, so nothing counted: a cross-site page loading /password/reset
        # in a loop must not use up the visitor's throttle.
        raise InvalidResetLink()
    throttle = Throttle(services.ratelimiter, services.settings)
    wait = throttle.begin_link_check(ip)
    if wait is not None:
        raise RateLimited(wait)
    user = _token_user(uow, services, token)
    if user is None:
        raise InvalidResetLink()
    throttle.link_ok(ip)
    return user


def _token_user(uow: UnitOfWork, services: Services, token: str | None) -> User | None:
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    record = uow.reset_tokens.get(secret_hash(token))
    if record is None or record.used_at is not None:
        return None
    if to_datetime(services.clock.now()) >= record.expires_at:
        return None
    user = uow.users.get(record.user_id)
    if user is None or user.disabled_at is not None:
        return None
    return user


def complete_reset(
    uow: UnitOfWork,
    services: Services,
    token: str | None,
    new_password: str,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
    locale: str | None = None,
) -> ResetDone:
    """Set a new password through a reset link, sign the user out everywhere, and
    return the "your password was changed" message to deliver. Nothing changes when it
    raises (``InvalidResetLink``, ``InvalidInput`` for the policy, ``RateLimited``)."""
    user = check_link(uow, services, token, ip)
    check_password(new_password, email=user.email)
    now = to_datetime(services.clock.now())
    assert token is not None
    if not uow.reset_tokens.mark_used(secret_hash(token), now):
        raise InvalidResetLink()  # used by a concurrent request a moment ago
    record = uow.reset_tokens.get(secret_hash(token))
    return_path = record.return_path if record is not None else None
    uow.reset_tokens.void_all(user.id, now)
    if not user.email_verified:
        _drop_unproven_factors(uow, services, user, ip, user_agent)
    message = replace_password(
        uow,
        services,
        user,
        new_password,
        AuditEvent.RESET_DONE,
        ip=ip,
        user_agent=user_agent,
        locale=locale,
    )
    # Proving control of the mailbox lifts a throttle an attacker may have caused.
    Throttle(services.ratelimiter, services.settings).account_recovered(user.email)
    return ResetDone(user, message, return_path)


def _drop_unproven_factors(
    uow: UnitOfWork, services: Services, user: User, ip: str | None, user_agent: str | None
) -> None:
    """The address was never verified, so whoever enrolled the account's second factors and
    passkeys may not be the person who reads its mail (an account made in advance with
    someone else's address): the reset link proves the mailbox, so what was set up before it
    goes with the old password, or a squatter's passkey would still sign in. Audited as an
    MFA reset, ``via: password_reset``."""
    held = factors.overview(uow, user.id)
    if held.factors or held.recovery_codes_left:
        factors.reset(
            uow,
            services,
            user.id,
            actor=user.id,
            via="password_reset",
            ip=ip,
            user_agent=user_agent,
        )


def replace_password(
    uow: UnitOfWork,
    services: Services,
    user: User,
    new_password: str,
    event: AuditEvent,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
    locale: str | None = None,
    actor: str | None = None,
) -> EmailMessage:
    """Store the new password's hash and sign the user out everywhere (sessions, token
    families, earlier access tokens); audited as ``event``. Returns the "your password
    was changed" message to deliver. The caller has checked the policy."""
    now_ts = services.clock.now()
    uow.users.set_password_hash(user.id, services.passwords.hash(new_password), to_datetime(now_ts))
    ended = login_sessions.end_all(uow, services.clock, user.id, reason=str(event))
    audit.record(
        uow,
        services.clock,
        event,
        user_id=user.id,
        ip=ip,
        user_agent=user_agent,
        sessions_ended=ended,
        **({"actor": actor} if actor else {}),
    )
    return changed_message(services, user, now_ts, locale)


def changed_message(
    services: Services, user: User, when: float, locale: str | None = None
) -> EmailMessage:
    return services.mail.compose(
        "password_changed",
        user.email,
        {
            "email": user.email,
            "name": name_for_mail(user),
            "when": to_datetime(when),
            "issuer": services.settings.issuer,
            "forgot_link": f"{services.settings.issuer}/password/forgot",
        },
        locale,
    )
