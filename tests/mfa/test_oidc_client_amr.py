"""`amr` and `acr` of ID tokens as an independent OpenID Connect client sees them:
Authlib's OAuth 2.0 client builds the PKCE request and exchanges the code, Authlib's
CodeIDToken validates the ID token; the user's part is done by following the pages. After
the password only, after the password and a code, and after a step-up asked for with
``acr_values`` (only the code is asked for then)."""

from __future__ import annotations

import secrets
import time

from authlib.integrations.httpx_client import OAuth2Client
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.accounts_helpers import FakeClock, browser, csrf, login
from tests.mfa.helpers import SECOND_FACTOR, code_at, enrol_totp
from tests.oidc import REDIRECT, hidden_fields

TWO = "urn:authserver:loa:2fa"


def _client(http, app, **extra):
    return OAuth2Client(
        app.client_id,
        app.client_secret,
        redirect_uri=REDIRECT,
        scope="openid email",
        code_challenge_method="S256",
        transport=http._transport,
        **extra,
    )


def _id_token(http, settings, app, client, callback, verifier, state, nonce, clock):
    token = client.fetch_token(
        f"{settings.issuer}/token",
        authorization_response=callback,
        code_verifier=verifier,
        state=state,
    )
    keys = KeySet.import_key_set(http.get("/.well-known/jwks.json").json())
    decoded = jwt.decode(token["id_token"], keys, algorithms=["RS256"])
    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        options={
            "iss": {"essential": True, "value": settings.issuer},
            "aud": {"essential": True, "value": app.client_id},
            "nonce": {"essential": True, "value": nonce},
        },
        params={"access_token": token["access_token"]},
    )
    # The server's (test) clock runs a little ahead of this process's.
    claims.validate(now=int(clock.now()), leeway=5)
    return dict(claims)


def _authorize(http, client, **extra):
    verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
    uri, state = client.create_authorization_url(
        "http://localhost:8000/authorize", code_verifier=verifier, nonce=nonce, **extra
    )
    return http.get(uri.removeprefix("http://localhost:8000"), follow_redirects=False), (
        verifier,
        state,
        nonce,
    )


def test_amr_and_acr_through_authlibs_client(settings, factory):
    clock = FakeClock((int(time.time()) // 30 + 1) * 30 + 5)
    app = factory.client(
        grant_types=["authorization_code"],
        scope="openid email",
        redirect_uris=[REDIRECT],
        first_party=True,
    )
    user = factory.user()
    with browser(settings, clock) as a, browser(settings, clock) as b:
        # Password only.
        assert login(a, user.email, user.password).status_code == 303
        client = _client(a, app)
        r, (verifier, state, nonce) = _authorize(a, client)
        assert r.status_code == 302, r.text
        idt = _id_token(
            a, settings, app, client, r.headers["location"], verifier, state, nonce, clock
        )
        assert idt["amr"] == ["pwd"] and idt["acr"] == "urn:authserver:loa:1fa"

        # Step-up with acr_values in browser a, after the app was set up in browser b.
        login(b, user.email, user.password)
        key, _ = enrol_totp(b, clock.now())
        clock.advance(30)
        r, (verifier, state, nonce) = _authorize(a, client, acr_values=TWO)
        assert r.headers["location"].startswith(SECOND_FACTOR + "?")
        step = a.get(r.headers["location"])
        assert 'name="password"' not in step.text
        r = a.post(
            SECOND_FACTOR,
            data={**hidden_fields(step.text), "kind": "totp", "code": code_at(key, clock.now())},
            follow_redirects=False,
        )
        r = a.get(r.headers["location"], follow_redirects=False)
        idt = _id_token(
            a, settings, app, client, r.headers["location"], verifier, state, nonce, clock
        )
        assert idt["amr"] == ["mfa", "otp", "pwd"] and idt["acr"] == TWO

        # A fresh sign-in: password, then the code.
        clock.advance(30)
        a.cookies.clear()
        r, (verifier, state, nonce) = _authorize(a, client)
        login_page = a.get(r.headers["location"])
        r = a.post(
            "/login",
            data={**hidden_fields(login_page.text), "email": user.email, "password": user.password},
            follow_redirects=False,
        )
        assert r.headers["location"].startswith(SECOND_FACTOR)
        step = a.get(r.headers["location"])
        r = a.post(
            SECOND_FACTOR,
            data={
                "csrf_token": csrf(step.text),
                "kind": "totp",
                "code": code_at(key, clock.now()),
                "next": hidden_fields(step.text)["next"],
            },
            follow_redirects=False,
        )
        r = a.get(r.headers["location"], follow_redirects=False)
        idt = _id_token(
            a, settings, app, client, r.headers["location"], verifier, state, nonce, clock
        )
        assert idt["amr"] == ["mfa", "otp", "pwd"] and idt["acr"] == TWO
