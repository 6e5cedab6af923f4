"""The code flow driven by an independent OpenID Connect client library (Authlib's
OAuth 2.0 client, which builds the PKCE request, exchanges the code, refreshes and
revokes; its CodeIDToken validates the ID token) against a real server process. The
user's part (login and consent pages) is done over plain HTTP by following the forms."""

from __future__ import annotations

import re
import secrets
from html import unescape

import httpx2 as httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client

from tests.relying_party import validate_id_token
from tests.servers import running_server

pytestmark = pytest.mark.slow
REDIRECT = "http://127.0.0.1:9/cb"


def _hidden(html: str) -> dict[str, str]:
    return {
        unescape(n): unescape(v)
        for n, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)
    }


def test_authlib_client_against_a_real_server(prod_env, prod_factory, tmp_path):
    env = {**prod_env}
    with running_server(env, tmp_path) as server:
        issuer = server.url
        app = prod_factory.client(
            grant_types=["authorization_code", "refresh_token"],
            scope="openid email offline_access",
            redirect_uris=[REDIRECT],
        )
        user = prod_factory.user()
        config = httpx.get(f"{issuer}/.well-known/openid-configuration").json()
        assert config["code_challenge_methods_supported"] == ["S256"]
        client = OAuth2Client(
            app.client_id,
            app.client_secret,
            redirect_uri=REDIRECT,
            scope="openid email offline_access",
            code_challenge_method="S256",
        )
        verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
        uri, state = client.create_authorization_url(
            config["authorization_endpoint"], code_verifier=verifier, nonce=nonce
        )
        with httpx.Client(follow_redirects=False, timeout=30) as browser:
            r = browser.get(uri)
            login_page = browser.get(issuer + r.headers["location"])
            r = browser.post(
                f"{issuer}/login",
                data={**_hidden(login_page.text), "email": user.email, "password": user.password},
            )
            consent = browser.get(issuer + r.headers["location"])
            r = browser.post(
                f"{issuer}/consent", data={**_hidden(consent.text), "decision": "approve"}
            )
            callback = r.headers["location"]
        assert callback.startswith(REDIRECT)
        token = client.fetch_token(
            config["token_endpoint"],
            authorization_response=callback,
            code_verifier=verifier,
            state=state,
        )
        claims = validate_id_token(
            issuer, app.client_id, token["id_token"], nonce, token["access_token"]
        )
        assert claims["sub"] == user.id and claims["email"] == user.email
        assert client.get(config["userinfo_endpoint"]).json()["sub"] == user.id
        refreshed = client.refresh_token(config["token_endpoint"])
        assert refreshed["refresh_token"] != token["refresh_token"]
        # OIDC Core §12.2: the same sub and auth_time; a nonce only if the first had one.
        again = validate_id_token(
            issuer, app.client_id, refreshed["id_token"], None, refreshed["access_token"]
        )
        assert (again["sub"], again["auth_time"]) == (claims["sub"], claims["auth_time"])
        r = client.revoke_token(
            config["revocation_endpoint"],
            token=refreshed["refresh_token"],
            token_type_hint="refresh_token",
        )
        assert r.status_code == 200
        with pytest.raises(Exception, match="invalid_grant"):
            client.refresh_token(config["token_endpoint"])
        client.close()
