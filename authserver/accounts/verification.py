"""Verified e-mail addresses: a link e-mailed at sign-up (and on request) proves the user
controls the address; a change of address is applied only through such a link sent to
the new one (``accounts.email_change``).

Links are 256-bit (``hashing.new_secret(32)``), stored only as SHA-256 hashes, valid
``email_verification_ttl`` seconds, single use (an atomic conditional UPDATE), and a new
link voids the user's older ones. A link carries nothing but its token: where the browser
continues afterwards (the pending authorization request) is kept in the token's row.

Whether an unverified user may sign in to apps is ``unverified_email_sign_in`` and, per
client, ``require_verified_email`` (``needs_verification``); the ``email_verified`` claim
of tokens and userinfo is the user's flag either way."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from urllib.parse import quote

from authserver import audit
from authserver.accounts.throttle import Throttle
from authserver.audit import AuditEvent
from authserver.clock import Clock, to_datetime
from authserver.errors import InvalidInput, RateLimited
from authserver.hashing import new_secret, secret_hash
from authserver.i18n.message import N_
from authserver.services import Services
from authserver.settings import Settings
from authserver.storage.db import UnitOfWork
from authserver.storage.models import EmailVerificationToken, User
from authserver.storage.users import email_key

MAX_TOKEN_CHARS = 128
VERIFY_PATH = "/email/verify"


class InvalidVerificationLink(InvalidInput):
    def __init__(self) -> None:
        super().__init__(
            N_(
                "This confirmation link is invalid, has expired or was already used. "
                "Sign in and ask for a new one."
            )
        )


class LinkForAnotherAccount(InvalidInput):
    def __init__(self) -> None:
        super().__init__(
            N_(
                "This confirmation link belongs to another account than the one signed in "
                "here. Sign out, then open the link again."
            )
        )


@dataclass(frozen=True)
class Verified:
    user: User
    # Where the browser continues: the pending authorization request, if any.
    return_path: str | None
    # A change of address: the notice to the old address, to deliver after answering.
    notice: EmailMessage | None = None


def needs_verification(settings: Settings, user: User, require_verified_email: bool) -> bool:
    """Whether ``user`` must verify the address before an app (which may itself require a
    verified address) gets a code or token for them."""
    if user.email_verified:
        return False
    return require_verified_email or not settings.unverified_email_sign_in


def hours_valid(settings: Settings) -> int:
    return max(1, settings.email_verification_ttl // 3600)


def mint_link(
    uow: UnitOfWork,
    services: Services,
    user: User,
    address: str,
    template: str,
    *,
    change: bool = False,
    return_path: str | None = None,
    locale: str | None = None,
) -> EmailMessage:
    """A new link for ``user`` to prove control of ``address`` (voiding older links) and
    its message, to ``address``. The message names no user-chosen text: the address may
    belong to someone else."""
    now = to_datetime(services.clock.now())
    token = new_secret(32)
    uow.email_tokens.void_all(user.id, now)
    uow.email_tokens.add(
        EmailVerificationToken(
            token_hash=secret_hash(token),
            user_id=user.id,
            email=address,
            change=change,
            return_path=return_path,
            created_at=now,
            expires_at=now + timedelta(seconds=services.settings.email_verification_ttl),
        )
    )
    return services.mail.compose(
        template,
        address,
        {
            "email": address,
            "link": f"{services.settings.issuer}{VERIFY_PATH}?token={quote(token)}",
            "hours": hours_valid(services.settings),
            "issuer": services.settings.issuer,
        },
        locale,
    )


def send_link(
    uow: UnitOfWork,
    services: Services,
    user: User,
    *,
    return_path: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    locale: str | None = None,
) -> EmailMessage:
    """The sign-up link to the user's address (audited); the caller delivers it."""
    message = mint_link(
        uow, services, user, user.email, "verify_email", return_path=return_path, locale=locale
    )
    audit.record(
        uow,
        services.clock,
        AuditEvent.EMAIL_VERIFICATION_SENT,
        user_id=user.id,
        ip=ip,
        user_agent=user_agent,
    )
    return message


def resend(
    uow: UnitOfWork,
    services: Services,
    user: User,
    *,
    return_path: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    locale: str | None = None,
) -> EmailMessage | None:
    """ "Send the link again" for a signed-in user: throttled per address and client IP
    (``RateLimited``); None when the address is verified already."""
    if user.email_verified:
        return None
    wait = Throttle(services.ratelimiter, services.settings).verification_request(user.email, ip)
    if wait is not None:
        raise RateLimited(wait)
    return send_link(
        uow,
        services,
        user,
        return_path=return_path,
        ip=ip,
        user_agent=user_agent,
        locale=locale,
    )


def check_link(
    uow: UnitOfWork, services: Services, token: str | None, ip: str | None
) -> EmailVerificationToken:
    """The live token row of a link. Raises ``InvalidVerificationLink`` (unknown, used,
    expired, its user gone or disabled, or the user's address changed since) or
    ``RateLimited`` (too many bad links from this client address)."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise InvalidVerificationLink()
    throttle = Throttle(services.ratelimiter, services.settings)
    wait = throttle.begin_link_check(ip)
    if wait is not None:
        raise RateLimited(wait)
    record = uow.email_tokens.get(secret_hash(token))
    if record is None or not _live(uow, services.clock, record):
        raise InvalidVerificationLink()
    throttle.link_ok(ip)
    return record


def _live(uow: UnitOfWork, clock: Clock, record: EmailVerificationToken) -> bool:
    if record.used_at is not None or to_datetime(clock.now()) >= record.expires_at:
        return False
    user = uow.users.get(record.user_id)
    if user is None or user.disabled_at is not None:
        return False
    # A sign-up link names the address it was sent to: void once the address changed.
    return record.change or email_key(record.email) == user.email_key


def verify(
    uow: UnitOfWork,
    services: Services,
    token: str | None,
    *,
    signed_in_as: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    locale: str | None = None,
) -> Verified:
    """Use a link: the address is verified (for a change, it becomes the user's address
    and the old one is told). ``signed_in_as``: the user id of this browser's session,
    if any -- a link for another account is refused (``LinkForAnotherAccount``), so no one
    is left signed in to one account believing they confirmed another. Nothing changes
    when it raises."""
    from authserver.accounts import email_change  # a cycle: email_change mints links

    record = check_link(uow, services, token, ip)
    if signed_in_as is not None and signed_in_as != record.user_id:
        raise LinkForAnotherAccount()
    user = uow.users.get(record.user_id)
    assert user is not None and token is not None
    now = to_datetime(services.clock.now())
    if not uow.email_tokens.mark_used(secret_hash(token), now):
        raise InvalidVerificationLink()  # used by a concurrent request a moment ago
    notice = None
    if record.change:
        notice = email_change.apply(uow, services, user, record.email, locale=locale)
    user.email_verified = True
    user.updated_at = now
    uow.email_tokens.void_all(user.id, now)
    audit.record(
        uow,
        services.clock,
        AuditEvent.EMAIL_CHANGED if record.change else AuditEvent.EMAIL_VERIFIED,
        user_id=user.id,
        ip=ip,
        user_agent=user_agent,
    )
    return Verified(user, record.return_path, notice)


def mark_verified(uow: UnitOfWork, clock: Clock, user: User, verified: bool = True) -> User:
    """An administrator vouches for (or withdraws) the user's address."""
    now = to_datetime(clock.now())
    user.email_verified = verified
    user.updated_at = now
    if verified:
        uow.email_tokens.void_all(user.id, now)
    return user
