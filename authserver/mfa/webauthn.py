"""Passkeys and security keys (WebAuthn Level 2, through Yubico's ``fido2``): registration
on the account page, use as a second factor after the password, and passwordless sign-in
("Sign in with a passkey", user verification required).

The relying party is this server: RP ID = the issuer's host, and an answer counts only
when its origin is exactly the issuer's (scheme, host, port). Every ceremony's challenge
is stored (hashed) with its purpose and user, and is used once: a replayed answer finds
none. The signature counter must grow whenever either side is non-zero (WebAuthn
§6.1.1: otherwise the authenticator may be cloned). Answers are untrusted JSON/CBOR:
anything malformed is a refusal, never a crash."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

from fido2.server import Fido2Server
from fido2.utils import websafe_decode, websafe_encode
from fido2.webauthn import (
    AttestedCredentialData,
    AuthenticationResponse,
    CollectedClientData,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialUserEntity,
    RegistrationResponse,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from authserver.accounts import auth_methods
from authserver.clock import to_datetime
from authserver.hashing import secret_hash
from authserver.services import Services
from authserver.storage.db import UnitOfWork
from authserver.storage.models import User, WebAuthnChallenge, WebAuthnCredential

Purpose = Literal["register", "second_factor", "passwordless"]
TTL = timedelta(minutes=5)
MAX_NAME = 64


class WebAuthnRefused(Exception):
    """The answer does not verify; ``reason`` goes to the audit log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _origin(issuer: str) -> str:
    parts = urlsplit(issuer)
    return f"{parts.scheme}://{parts.netloc}"


def _server(services: Services) -> Fido2Server:
    issuer = services.settings.issuer
    rp = PublicKeyCredentialRpEntity(id=urlsplit(issuer).hostname or "", name=services.brand.name)
    origin = _origin(issuer)
    # The exact origin of the issuer, not fido2's default (any https origin under the RP
    # ID): another site on a sibling subdomain must not be able to use our challenges.
    return Fido2Server(rp, verify_origin=lambda o: o == origin)


def _store_challenge(
    uow: UnitOfWork, services: Services, purpose: Purpose, user_id: str | None, state: Any
) -> None:
    now = to_datetime(services.clock.now())
    uow.mfa.add_challenge(
        WebAuthnChallenge(
            challenge_hash=secret_hash(state["challenge"]),
            purpose=purpose,
            user_id=user_id,
            state={"challenge": state["challenge"], "uv": str(state["user_verification"] or "")},
            created_at=now,
            expires_at=now + TTL,
            used_at=None,
        )
    )


def _claim_challenge(
    uow: UnitOfWork, services: Services, response: Mapping[str, Any], purpose: Purpose
) -> WebAuthnChallenge:
    """The ceremony the answer's client data names, used now; refused if unknown, used,
    expired, or of another purpose."""
    try:
        raw = response["response"]["clientDataJSON"]
        client_data = CollectedClientData(websafe_decode(raw))
        challenge = websafe_encode(client_data.challenge)
    except (KeyError, TypeError, ValueError) as exc:
        raise WebAuthnRefused("malformed_client_data") from exc
    ceremony = uow.mfa.use_challenge(secret_hash(challenge), to_datetime(services.clock.now()))
    if ceremony is None:
        raise WebAuthnRefused("unknown_or_used_challenge")
    if ceremony.purpose != purpose:
        raise WebAuthnRefused("challenge_of_another_purpose")
    return ceremony


def _fido_state(ceremony: WebAuthnChallenge) -> dict[str, Any]:
    uv = ceremony.state.get("uv") or None
    return {
        "challenge": ceremony.state["challenge"],
        "user_verification": UserVerificationRequirement(uv) if uv else None,
    }


def _descriptors(rows: list[WebAuthnCredential]) -> list[dict[str, Any]]:
    return [
        {"type": "public-key", "id": row.credential_id, "transports": list(row.transports)}
        for row in rows
    ]


def register_options(uow: UnitOfWork, services: Services, user: User) -> dict[str, Any]:
    """Options for ``navigator.credentials.create`` (a discoverable credential, so it can
    later sign in without a password; user verification required)."""
    existing = list(uow.mfa.webauthn_of(user.id))
    options, state = _server(services).register_begin(
        PublicKeyCredentialUserEntity(
            id=user.id.encode(), name=user.email, display_name=user.name or user.email
        ),
        credentials=_descriptors(existing),  # type: ignore[arg-type]
        resident_key_requirement=ResidentKeyRequirement.REQUIRED,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    _store_challenge(uow, services, "register", user.id, state)
    return dict(options)


def register(
    uow: UnitOfWork, services: Services, user: User, response: Mapping[str, Any], name: str
) -> WebAuthnCredential:
    """Verify a registration answer and store the new credential."""
    ceremony = _claim_challenge(uow, services, response, "register")
    if ceremony.user_id != user.id:
        raise WebAuthnRefused("challenge_of_another_user")
    try:
        auth_data = _server(services).register_complete(
            _fido_state(ceremony), RegistrationResponse.from_dict(response)
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise WebAuthnRefused(f"registration_invalid: {exc}"[:120]) from exc
    data = auth_data.credential_data
    if data is None:
        raise WebAuthnRefused("no_credential_data")
    credential_id = websafe_encode(data.credential_id)
    if uow.mfa.webauthn_by_credential_id(credential_id) is not None:
        raise WebAuthnRefused("credential_already_registered")
    transports = response.get("response", {}).get("transports") or []
    row = WebAuthnCredential(
        id=str(uuid.uuid4()),
        user_id=user.id,
        credential_id=credential_id,
        credential_data=websafe_encode(bytes(data)),
        sign_count=int(auth_data.counter),
        aaguid=str(uuid.UUID(bytes=bytes(data.aaguid))),
        transports=[str(t)[:20] for t in transports if isinstance(t, str)][:8],
        backup_eligible=bool(auth_data.is_backup_eligible()),
        name=(name.strip() or "Passkey")[:MAX_NAME],
        created_at=to_datetime(services.clock.now()),
        last_used_at=None,
    )
    uow.mfa.add_webauthn(row)
    return row


def sign_in_options(uow: UnitOfWork, services: Services, user: User | None) -> dict[str, Any]:
    """Options for ``navigator.credentials.get``: for ``user``'s credentials (a second
    factor), or for any discoverable one (passwordless: user verification required)."""
    if user is not None:
        rows = list(uow.mfa.webauthn_of(user.id))
        options, state = _server(services).authenticate_begin(
            _descriptors(rows),  # type: ignore[arg-type]
            user_verification=UserVerificationRequirement.PREFERRED,
        )
        _store_challenge(uow, services, "second_factor", user.id, state)
    else:
        options, state = _server(services).authenticate_begin(
            None, user_verification=UserVerificationRequirement.REQUIRED
        )
        _store_challenge(uow, services, "passwordless", None, state)
    return dict(options)


@dataclass(frozen=True)
class Verified:
    credential: WebAuthnCredential
    # RFC 8176: `hwk` for a device-bound key, `swk` for a synced passkey; `mfa` too when
    # the authenticator verified the user (PIN or biometrics: two factors in one).
    methods: list[str]


def verify(
    uow: UnitOfWork,
    services: Services,
    response: Mapping[str, Any],
    purpose: Literal["second_factor", "passwordless"],
    user_id: str | None = None,
) -> Verified:
    """Verify an assertion: for ``user_id`` (second factor) or whoever's discoverable
    credential it is (passwordless)."""
    ceremony = _claim_challenge(uow, services, response, purpose)
    if purpose == "second_factor" and ceremony.user_id != user_id:
        raise WebAuthnRefused("challenge_of_another_user")
    try:
        answer = AuthenticationResponse.from_dict(response)
    except (KeyError, TypeError, ValueError) as exc:
        raise WebAuthnRefused("malformed_assertion") from exc
    row = uow.mfa.webauthn_by_credential_id(websafe_encode(answer.raw_id))
    if row is None or (user_id is not None and row.user_id != user_id):
        raise WebAuthnRefused("unknown_credential")
    if purpose == "passwordless" and answer.response.user_handle not in (
        None,
        row.user_id.encode(),
    ):
        raise WebAuthnRefused("user_handle_mismatch")
    stored = AttestedCredentialData(websafe_decode(row.credential_data))
    try:
        _server(services).authenticate_complete(_fido_state(ceremony), [stored], answer)
    except (KeyError, TypeError, ValueError) as exc:
        raise WebAuthnRefused(f"assertion_invalid: {exc}"[:120]) from exc
    auth_data = answer.response.authenticator_data
    counter = int(auth_data.counter)
    if (counter or row.sign_count) and counter <= row.sign_count:
        raise WebAuthnRefused("sign_count_not_increasing")
    if not uow.mfa.claim_webauthn_use(
        row.id, row.sign_count, counter, to_datetime(services.clock.now())
    ):
        raise WebAuthnRefused("concurrent_use")
    key = auth_methods.SOFTWARE_KEY if row.backup_eligible else auth_methods.HARDWARE_KEY
    methods = [key]
    if auth_data.is_user_verified():
        methods.append(auth_methods.MULTI_FACTOR)
    return Verified(row, methods)
