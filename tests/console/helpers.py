"""Signing an administrator in for the console tests; a user given a linked identity or
second factors.

The HTTP-level tests start a session "signed in with password and an authenticator
code" with the code the login page uses (``login_sessions.start`` with the RFC 8176
methods ``pwd`` and ``otp``); the browser journey signs in through the login page with
the password and a real TOTP code."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

import pyotp

from authserver.accounts import login_sessions
from authserver.clock import Clock, to_datetime
from authserver.federation import providers
from authserver.federation.config import ProviderConfig
from authserver.federation.profile import UpstreamProfile
from authserver.federation.resolution import new_identity
from authserver.mfa import recovery, totp
from authserver.storage.models import WebAuthnCredential

# What every field shown back must escape.
SCRIPT = '<script>alert("x")</script>'


def sign_in(
    http: Any,
    services: Any,
    user_id: str,
    methods: Sequence[str] = ("pwd", "otp"),
    clock: Clock | None = None,
) -> str:
    """Give the browser ``http`` a login session of ``user_id`` that performed
    ``methods``; returns the session id."""
    with services.db.unit_of_work() as uow:
        user = uow.users.get(user_id)
        session, secret = login_sessions.start(
            uow, clock or services.clock, services.settings, user, methods=methods
        )
        session_id = session.id
    http.cookies.set("session", secret)
    return session_id


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def post(http: Any, page: str, action: str, **fields: str) -> Any:
    """GET ``page`` (for the CSRF token), then POST ``fields`` to ``action``."""
    token = csrf(http.get(page).text)
    return http.post(action, data={"csrf_token": token, **fields}, follow_redirects=False)


def another_browser(http: Any) -> Any:
    """A second browser (its own cookies) on the same app instance as ``http``."""
    from starlette.testclient import TestClient

    other = TestClient(http.app, base_url=str(http.base_url))
    other.app_state.update(http.app_state)
    return other


def link_identity(services: Any, user_id: str, email: str, provider_id: str = "corp") -> str:
    """``user_id`` gets an identity at ``provider_id`` and a session that came through it;
    returns the identity's id."""
    with services.db.unit_of_work() as uow:
        if uow.providers.get(provider_id) is None:
            config = ProviderConfig(
                display_name=f"Corp {SCRIPT}",
                settings={"issuer": "https://corp.example", "client_id": "authserver"},
            )
            providers.create(uow, providers.registry(services), provider_id, "oidc", config, "s")
        user = uow.users.get(user_id)
        profile = UpstreamProfile(str(uuid.uuid4()), email, True, None, None, {})
        identity = uow.identities.add(new_identity(services.clock, provider_id, user, profile))
        login_sessions.start(
            uow, services.clock, services.settings, user, methods=("fed",), identity_id=identity.id
        )
        return identity.id


def enrol_factors(services: Any, user_id: str, key_name: str) -> str:
    """An authenticator app confirmed with a real code, a security key named ``key_name``
    and recovery codes; returns the app's key."""
    with services.db.unit_of_work() as uow:
        user = uow.users.get(user_id)
        secret = totp.begin(uow, services, user).secret
        assert totp.confirm(uow, services, user, pyotp.TOTP(secret).at(services.clock.now()))
        uow.mfa.add_webauthn(
            WebAuthnCredential(
                id=str(uuid.uuid4()),
                user_id=user_id,
                credential_id=uuid.uuid4().hex,
                credential_data="ZGF0YQ",
                sign_count=0,
                aaguid="00000000-0000-0000-0000-000000000000",
                transports=["usb"],
                backup_eligible=False,
                name=key_name,
                created_at=to_datetime(services.clock.now()),
                last_used_at=None,
            )
        )
        recovery.generate(uow, services, user_id)
    return secret
