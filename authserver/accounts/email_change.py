"""Changing the e-mail address from the account page: the current password proves it is
the owner; the new address gets a link (``accounts.verification``) and becomes the
account's only when it is followed; the old address is then told.

An address that already has an account gets the same page answer and, instead of a link,
a message saying so: the page never tells whether an address is registered."""

from __future__ import annotations

from email.message import EmailMessage

from sqlalchemy.exc import IntegrityError

from authserver import audit
from authserver.accounts import login, verification
from authserver.accounts.throttle import Throttle
from authserver.accounts.users import normalise_email
from authserver.audit import AuditEvent
from authserver.clock import to_datetime
from authserver.errors import Conflict, InvalidInput, RateLimited
from authserver.i18n.message import N_
from authserver.services import Services
from authserver.storage.db import UnitOfWork
from authserver.storage.models import User
from authserver.storage.users import email_key

WRONG_PASSWORD = N_("Your current password is not correct.")
SAME_ADDRESS = N_("That is already your e-mail address.")


def request_change(
    uow: UnitOfWork,
    services: Services,
    user: User,
    new_email: str,
    password: str,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
    locale: str | None = None,
) -> tuple[str, EmailMessage]:
    """The normalised new address and the message to deliver to it (a link, or "this
    address has an account already"). Raises ``InvalidInput`` (syntax, wrong password,
    the current address) or ``RateLimited`` with nothing changed but the audit record of
    the password check: commit the unit of work anyway."""
    address = normalise_email(new_email)
    result = login.authenticate(
        uow,
        services,
        user.email,
        password,
        ip=ip,
        user_agent=user_agent,
        purpose="change_email",
    )
    if result.retry_after is not None:
        raise RateLimited(result.retry_after)
    if result.user is None or result.user.id != user.id:
        raise InvalidInput(WRONG_PASSWORD, field="current_password")
    if email_key(address) == user.email_key:
        raise InvalidInput(SAME_ADDRESS, field="email")
    wait = Throttle(services.ratelimiter, services.settings).verification_request(address, ip)
    if wait is not None:
        raise RateLimited(wait)
    taken = uow.users.find_by_email(address) is not None
    if taken:
        message = services.mail.compose(
            "email_taken",
            address,
            {
                "email": address,
                "issuer": services.settings.issuer,
                "forgot_link": f"{services.settings.issuer}/password/forgot",
            },
            locale,
        )
    else:
        message = verification.mint_link(
            uow, services, user, address, "email_change", change=True, locale=locale
        )
    audit.record(
        uow,
        services.clock,
        AuditEvent.EMAIL_CHANGE_REQUESTED,
        user_id=user.id,
        ip=ip,
        user_agent=user_agent,
        taken=taken,
    )
    return address, message


def apply(
    uow: UnitOfWork, services: Services, user: User, address: str, *, locale: str | None = None
) -> EmailMessage:
    """Make ``address`` (proven by its link) the user's; the notice to the old address.
    Raises ``InvalidVerificationLink`` when another account took the address meanwhile."""
    old = user.email
    if uow.users.find_by_email(address) is not None:
        raise verification.InvalidVerificationLink()
    user.email = address
    user.email_key = email_key(address)
    user.updated_at = to_datetime(services.clock.now())
    try:
        uow.session.flush()
    except IntegrityError as exc:  # the unique email_key: a concurrent sign-up won
        raise Conflict(N_("An account with that e-mail address already exists.")) from exc
    return services.mail.compose(
        "email_changed",
        old,
        {
            "email": old,
            "new_email": address,
            "name": user.name,
            "issuer": services.settings.issuer,
            "forgot_link": f"{services.settings.issuer}/password/forgot",
        },
        locale,
    )
