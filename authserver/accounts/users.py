"""Creating users: e-mail checked and normalised, password policy applied, hashed."""

from __future__ import annotations

import uuid

from email_validator import EmailNotValidError, validate_email

from authserver.accounts import roles as role_rules
from authserver.accounts.passwords import PasswordHasher
from authserver.accounts.policy import check_password
from authserver.clock import Clock, to_datetime
from authserver.errors import Conflict, InvalidInput
from authserver.i18n.message import N_
from authserver.storage.db import UnitOfWork
from authserver.storage.models import User
from authserver.storage.users import email_key


def normalise_email(email: str) -> str:
    """email-validator's normalised form (syntax only: no DNS lookups)."""
    if len(email) > 320:
        raise InvalidInput(N_("That e-mail address is too long."), field="email")
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidInput(
            N_("That is not a valid e-mail address: %(reason)s", reason=str(exc)), field="email"
        ) from None


def name_for_mail(user: User) -> str | None:
    """The name to greet ``user`` with in e-mail: only once their address is verified.
    Before that, the name was typed by whoever signed up with the address, and mail to a
    mailbox that never confirmed the account must carry no text a stranger chose."""
    return user.name if user.email_verified else None


def create_user(
    uow: UnitOfWork,
    hasher: PasswordHasher,
    clock: Clock,
    *,
    email: str,
    password: str,
    roles: list[str] | None = None,
    name: str | None = None,
    email_verified: bool = False,
) -> User:
    held = role_rules.validate(uow, roles or [])
    normalised = normalise_email(email)
    check_password(password, email=normalised)
    if uow.users.find_by_email(normalised) is not None:
        raise Conflict(N_("An account with that e-mail address already exists."))
    now = to_datetime(clock.now())
    return uow.users.add(
        User(
            id=str(uuid.uuid4()),
            email=normalised,
            email_key=email_key(normalised),
            email_verified=email_verified,
            name=name,
            password_hash=hasher.hash(password),
            roles=held,
            tokens_valid_after=0,
            created_at=now,
            updated_at=now,
        )
    )
