"""Changing the e-mail address from the account page: the current password proves it is
the owner (a user without a password, who signs in only through an identity provider,
proves it by a recent sign-in instead: ``proof_of``); the new address gets a link
(``accounts.verification``) and becomes the account's only when it is followed; the old
address is then told.

An address that already has an account gets the same page answer and, instead of a link,
a message saying so: the page never tells whether an address is registered."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Literal

from sqlalchemy.exc import IntegrityError

from authserver import audit
from authserver.accounts import login, verification
from authserver.accounts.login_sessions import ActiveSession
from authserver.accounts.throttle import Throttle
from authserver.accounts.users import normalise_email
from authserver.audit import AuditEvent
from authserver.clock import to_datetime
from authserver.errors import Conflict, InvalidInput, RateLimited
from authserver.i18n.message import N_
from authserver.mfa.enrolment import signed_in_recently
from authserver.services import Services
from authserver.storage.db import UnitOfWork
from authserver.storage.models import User
from authserver.storage.users import email_key

SAME_ADDRESS = N_("That is already your e-mail address.")

# What proves the change is the owner's: the current password; for a user without one, a
# sign-in at most ``mfa_reauth_max_age`` old ("recent_sign_in"), else "sign_in_again".
Proof = Literal["password", "recent_sign_in", "sign_in_again"]


class SignInAgain(InvalidInput):
    """A user without a password whose sign-in is too old to change the address."""

    def __init__(self) -> None:
        super().__init__(N_("For your security, sign in again to make this change."))


def proof_of(services: Services, session: ActiveSession) -> Proof:
    """What this session must show to change the address. A user with a password is always
    asked for it, however recent the sign-in; one without (federated only) has nothing to
    type, so the rule for removing a second factor applies (``signed_in_recently``):
    someone at an unattended, signed-in browser cannot move the account to their address."""
    if session.user.password_hash is not None:
        return "password"
    return "recent_sign_in" if signed_in_recently(services, session) else "sign_in_again"


def request_change(
    uow: UnitOfWork,
    services: Services,
    session: ActiveSession,
    new_email: str,
    password: str,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
    locale: str | None = None,
) -> tuple[str, EmailMessage]:
    """The normalised new address and the message to deliver to it (a link, or "this
    address has an account already"). Raises ``SignInAgain`` (``proof_of``),
    ``InvalidInput`` (syntax, wrong password, the current address) or ``RateLimited`` with
    nothing changed but the audit record of the password check: commit the unit of work
    anyway."""
    user = session.user
    proof = proof_of(services, session)
    if proof == "sign_in_again":
        raise SignInAgain()
    address = normalise_email(new_email)
    if proof == "password":
        login.check_current_password(
            uow, services, user, password, purpose="change_email", ip=ip, user_agent=user_agent
        )
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
        proof=proof,
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
