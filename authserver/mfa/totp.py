"""Authenticator apps (TOTP, RFC 6238): enrolment by an ``otpauth://`` QR code (rendered
here, as an image) plus the key as text, confirmed by a first code; then one code per time
step, accepted within one step either side of now, never twice.

The shared secret is sealed with the server's envelope encryption (``keys.envelope``),
bound to the factor's row, because checking a code needs it in the clear."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pyotp
import segno

from authserver.clock import to_datetime
from authserver.services import Services
from authserver.storage.db import UnitOfWork
from authserver.storage.models import TotpFactor, User

DIGITS = 6
PERIOD = 30
# RFC 6238 §5.2: accept a code from one step before or after now (clock drift, typing).
WINDOW = 1
_CODE = re.compile(r"[0-9]{6}")


@dataclass(frozen=True)
class Enrolment:
    """What the set-up page shows: the key as text, the URI and its QR code image."""

    factor_id: str
    secret: str
    uri: str
    qr_data_uri: str


def _context(factor_id: str) -> str:
    return f"totp:{factor_id}:secret"


def normalise_code(text: str) -> str | None:
    """Six ASCII digits (spaces ignored, as apps show "123 456"), or None."""
    code = text.replace(" ", "").strip()
    return code if _CODE.fullmatch(code) else None


def _enrolment(services: Services, user: User, factor: TotpFactor) -> Enrolment:
    secret = services.envelope.decrypt(factor.secret_sealed, _context(factor.id)).decode()
    uri = pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).provisioning_uri(
        name=user.email, issuer_name=services.brand.name
    )
    qr = segno.make(uri, error="m").png_data_uri(scale=5, border=2)
    return Enrolment(factor.id, secret, uri, qr)


def begin(uow: UnitOfWork, services: Services, user: User) -> Enrolment:
    """A new, unconfirmed authenticator app (replacing an earlier unconfirmed one). A
    confirmed one must be removed first (``factors.remove_totp``)."""
    current = uow.mfa.totp_of(user.id)
    if current is not None and current.confirmed_at is not None:
        raise ValueError("an authenticator app is already set up")
    factor_id = str(uuid.uuid4())
    secret = pyotp.random_base32(32)  # 160 bits, RFC 4226 §4's recommended length
    factor = TotpFactor(
        id=factor_id,
        user_id=user.id,
        secret_sealed=services.envelope.encrypt(secret.encode(), _context(factor_id)),
        confirmed_at=None,
        last_used_step=None,
        last_used_at=None,
        created_at=to_datetime(services.clock.now()),
    )
    uow.mfa.replace_totp(factor)
    return _enrolment(services, user, factor)


def unconfirmed(uow: UnitOfWork, services: Services, user: User) -> Enrolment | None:
    """The enrolment in progress (to show its QR code again), if any."""
    factor = uow.mfa.totp_of(user.id)
    if factor is None or factor.confirmed_at is not None:
        return None
    return _enrolment(services, user, factor)


def _matching_step(services: Services, factor: TotpFactor, code: str) -> int | None:
    secret = services.envelope.decrypt(factor.secret_sealed, _context(factor.id)).decode()
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD)
    try:
        return totp.verify_and_get_timecode(
            code, for_time=services.clock.now(), valid_window=WINDOW
        )
    except pyotp.OTPVerificationError:
        return None


def confirm(uow: UnitOfWork, services: Services, user: User, text: str) -> bool:
    """Confirm the enrolment in progress with the app's first code; that code's step
    counts as used."""
    factor = uow.mfa.totp_of(user.id)
    code = normalise_code(text)
    if factor is None or factor.confirmed_at is not None or code is None:
        return False
    step = _matching_step(services, factor, code)
    if step is None:
        return False
    return uow.mfa.confirm_totp(factor.id, step, to_datetime(services.clock.now()))


def verify(uow: UnitOfWork, services: Services, user_id: str, text: str) -> bool:
    """Whether ``text`` is a valid, unused code of the user's confirmed app. Accepting it
    uses its time step (and every earlier one): one conditional UPDATE, so the same code
    sent twice at once succeeds once."""
    factor = uow.mfa.totp_of(user_id)
    code = normalise_code(text)
    if factor is None or factor.confirmed_at is None or code is None:
        return False
    step = _matching_step(services, factor, code)
    if step is None:
        return False
    return uow.mfa.claim_totp_step(factor.id, step, to_datetime(services.clock.now()))
