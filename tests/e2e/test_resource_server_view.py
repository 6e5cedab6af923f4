"""An independent verifier: PyJWT's PyJWKClient against the served JWKS, exactly as a
resource server would; and a key rotation seen by it on a running server."""

from __future__ import annotations

import time

import jwt as pyjwt
import pytest

from authserver.keys import admin as key_admin
from authserver.keys.keystore import KeyStore
from tests.servers import running_server

pytestmark = pytest.mark.slow


def _token(http, client) -> str:
    r = http.post("/token", auth=client.basic_auth, data={"grant_type": "client_credentials"})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def test_pyjwkclient_verifies_our_tokens(prod_env, prod_factory, tmp_path):
    svc = prod_factory.client(scope="api:read")
    with running_server(prod_env, tmp_path) as server, server.client() as http:
        token = _token(http, svc)
        jwks = pyjwt.PyJWKClient(f"{server.url}/.well-known/jwks.json")
        key = jwks.get_signing_key_from_jwt(token)
        claims = pyjwt.decode(
            token,
            key.key,
            algorithms=["RS256"],
            audience=server.url,
            issuer=server.url,
            options={"require": ["exp", "iat", "jti"]},
        )
        assert claims["client_id"] == svc.client_id and claims["scope"] == "api:read"
        assert pyjwt.get_unverified_header(token)["typ"] == "at+jwt"
        with pytest.raises(pyjwt.InvalidAudienceError):
            pyjwt.decode(token, key.key, algorithms=["RS256"], audience="https://other.example")


def test_rotation_on_a_running_server(prod_env, prod_factory, tmp_path, keys_dir):
    env = {**prod_env, "AUTHSERVER_KEY_PUBLISH_AHEAD": "3", "AUTHSERVER_JWKS_MAX_AGE": "1"}
    svc = prod_factory.client()
    store = KeyStore(keys_dir)
    with running_server(env, tmp_path) as server, server.client() as http:
        old_kid = pyjwt.get_unverified_header(_token(http, svc))["kid"]
        new = key_admin.rotate(store, time.time(), 3, 2048)
        # Published before it signs: within a second the JWKS has it, tokens still use
        # the old key, and a verifier that refetches now knows both.
        time.sleep(1.2)
        kids = {k["kid"] for k in http.get("/.well-known/jwks.json").json()["keys"]}
        assert kids == {old_kid, new.kid}
        old_token = _token(http, svc)
        assert pyjwt.get_unverified_header(old_token)["kid"] == old_kid
        time.sleep(max(0.0, new.activates_at - time.time()) + 0.2)
        new_token = _token(http, svc)
        assert pyjwt.get_unverified_header(new_token)["kid"] == new.kid
        # The old key stays published while tokens it signed are valid, so both verify.
        jwks = pyjwt.PyJWKClient(f"{server.url}/.well-known/jwks.json")
        for token in (old_token, new_token):
            key = jwks.get_signing_key_from_jwt(token)
            pyjwt.decode(token, key.key, algorithms=["RS256"], audience=server.url)
        assert {k["kid"] for k in http.get("/.well-known/jwks.json").json()["keys"]} == {
            old_kid,
            new.kid,
        }
