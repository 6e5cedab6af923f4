"""POST /token with grant_type=client_credentials (RFC 6749 §4.4), over HTTP."""

from __future__ import annotations

import base64

import jwt


def test_issues_rs256_jwt_access_token_with_kid(client, factory, services):
    svc = factory.client(scope="api:read api:write")
    r = client.post("/token", data={"grant_type": "client_credentials"}, auth=svc.basic_auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "api:read api:write"
    assert "refresh_token" not in body
    assert r.headers["cache-control"] == "no-store"
    header = jwt.get_unverified_header(body["access_token"])
    assert header["alg"] == "RS256"
    assert header["typ"] == "at+jwt"
    assert header["kid"] == services.keys.snapshot().signing_kid
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == svc.client_id
    assert claims["client_id"] == svc.client_id
    assert claims["iss"] == "http://localhost:8000"
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["jti"]


def test_client_secret_post_works_too(client, factory):
    svc = factory.client(auth_method="client_secret_post")
    r = client.post(
        "/token",
        data={
            "grant_type": "client_credentials",
            "client_id": svc.client_id,
            "client_secret": svc.client_secret,
            "scope": "api:read",
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "api:read"


def test_wrong_secret_is_401_with_www_authenticate(client, factory):
    svc = factory.client()
    r = client.post(
        "/token", data={"grant_type": "client_credentials"}, auth=(svc.client_id, "nope")
    )
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"
    assert r.headers["www-authenticate"].startswith("Basic ")


def test_unknown_client_answers_like_a_wrong_secret(client, factory):
    svc = factory.client()
    wrong = client.post(
        "/token", data={"grant_type": "client_credentials"}, auth=(svc.client_id, "x")
    )
    unknown = client.post("/token", data={"grant_type": "client_credentials"}, auth=("ghost", "x"))
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()


def test_method_not_registered_for_the_client_is_refused(client, factory):
    svc = factory.client(auth_method="client_secret_basic")
    r = client.post(
        "/token",
        data={
            "grant_type": "client_credentials",
            "client_id": svc.client_id,
            "client_secret": svc.client_secret,
        },
    )
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"


def test_scope_outside_the_registration_is_invalid_scope(client, factory):
    svc = factory.client(scope="api:read")
    r = client.post(
        "/token",
        data={"grant_type": "client_credentials", "scope": "api:write"},
        auth=svc.basic_auth,
    )
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_scope"


def test_openid_scopes_are_not_granted_without_a_user(client, factory):
    svc = factory.client(scope="openid api:read")
    r = client.post(
        "/token", data={"grant_type": "client_credentials", "scope": "openid"}, auth=svc.basic_auth
    )
    assert r.json()["error"] == "invalid_scope"
    r = client.post("/token", data={"grant_type": "client_credentials"}, auth=svc.basic_auth)
    assert r.json()["scope"] == "api:read"


def test_client_not_allowed_the_grant_is_unauthorized_client(client, factory):
    app = factory.password_client()
    r = client.post("/token", data={"grant_type": "client_credentials"}, auth=app.basic_auth)
    assert r.status_code == 400
    assert r.json()["error"] == "unauthorized_client"


def test_public_client_cannot_use_client_credentials(client, factory):
    pub = factory.client(grant_types=["password"], public=True, scope="api:read")
    r = client.post("/token", data={"grant_type": "client_credentials", "client_id": pub.client_id})
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"


def test_basic_credentials_are_form_urlencoded(client, factory):
    # RFC 6749 §2.3.1: the id and secret are form-urlencoded before base64.
    svc = factory.client(client_id="svc+one:two")
    raw = f"svc%2Bone%3Atwo:{svc.client_secret}".encode()
    header = "Basic " + base64.b64encode(raw).decode()
    r = client.post(
        "/token", data={"grant_type": "client_credentials"}, headers={"Authorization": header}
    )
    assert r.status_code == 200, r.text
