"""An API demanding a second factor with ``authserver.resource_server``: a password-only
token gets RFC 9470's step-up challenge, one whose user passed a code is let through."""

from __future__ import annotations

import time

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from authserver.resource_server import (
    AccessTokenVerifier,
    InsufficientAuthentication,
    RequireAccessToken,
)
from tests.accounts_helpers import FakeClock, browser, login
from tests.helpers import password_grant
from tests.mfa.helpers import code_at, enrol_totp


def test_an_api_can_require_a_second_factor(settings, factory):
    clock = FakeClock((int(time.time()) // 30 + 1) * 30 + 5)
    app = factory.password_client(scope="openid api:read")
    plain, careful = factory.user(), factory.user()
    with browser(settings, clock) as http:
        login(http, careful.email, careful.password)
        key, _ = enrol_totp(http, clock.now())
        clock.advance(30)
        weak = password_grant(http, app, plain, scope="api:read").json()["access_token"]
        strong = password_grant(
            http, app, careful, scope="api:read", otp=code_at(key, clock.now())
        ).json()["access_token"]
        jwks = http.get("/.well-known/jwks.json").json()
    verifier = AccessTokenVerifier(
        settings.issuer, settings.issuer, fetch=lambda url: jwks, clock=clock.now
    )
    assert verifier.verify(weak)["amr"] == ["pwd"]  # fine where MFA is not demanded
    with pytest.raises(InsufficientAuthentication):
        verifier.verify(weak, require_mfa=True)
    assert verifier.verify(strong, require_mfa=True)["acr"] == "urn:authserver:loa:2fa"

    async def orders(request: Request) -> JSONResponse:
        return JSONResponse({"sub": request.state.access_token["sub"]})

    api = Starlette(routes=[Route("/orders", orders)])
    api.add_middleware(RequireAccessToken, verifier=verifier, require_mfa=True)
    with TestClient(api) as c:
        r = c.get("/orders", headers={"Authorization": f"Bearer {weak}"})
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == (
            'Bearer error="insufficient_user_authentication", acr_values="urn:authserver:loa:2fa"'
        )
        ok = c.get("/orders", headers={"Authorization": f"Bearer {strong}"})
        assert ok.status_code == 200 and ok.json()["sub"] == careful.id
