"""POST /introspect (RFC 7662)."""

from __future__ import annotations

import time

import jwt as pyjwt
from cryptography.hazmat.primitives.asymmetric import rsa

from authserver.accounts import login_sessions
from authserver.clock import to_datetime
from tests.helpers import claims, introspect, password_grant, refresh_grant


def test_active_access_token(client, factory):
    app = factory.password_client(scope="openid email api:read")
    rs = factory.resource_server()
    user = factory.user()
    token = password_grant(client, app, user).json()["access_token"]
    info = introspect(client, rs, token)
    c = claims(token)
    assert info["active"] is True
    assert info["sub"] == user.id and info["client_id"] == app.client_id
    assert info["scope"] == c["scope"] and info["exp"] == c["exp"] and info["jti"] == c["jti"]
    assert info["token_type"] == "Bearer" and info["username"] == user.email


def test_refresh_token_only_for_its_own_client(client, factory):
    app = factory.password_client()
    other = factory.client()
    body = password_grant(client, app, factory.user()).json()
    mine = introspect(client, app, body["refresh_token"])
    assert mine["active"] is True and mine["token_type"] == "refresh_token"
    assert introspect(client, other, body["refresh_token"]) == {"active": False}
    used = refresh_grant(client, app, body["refresh_token"])
    assert used.status_code == 200
    assert introspect(client, app, body["refresh_token"]) == {"active": False}


def test_tampered_foreign_and_garbage_tokens_are_inactive(client, factory):
    app = factory.password_client()
    rs = factory.resource_server()
    token = password_grant(client, app, factory.user()).json()["access_token"]
    header, payload, sig = token.split(".")
    tampered = f"{header}.{payload[:-4]}AAAA.{sig}"
    foreign_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    foreign = pyjwt.encode(
        {**claims(token)},
        foreign_key,
        algorithm="RS256",
        headers={"kid": pyjwt.get_unverified_header(token)["kid"], "typ": "at+jwt"},
    )
    none_alg = pyjwt.encode(claims(token), key=None, algorithm="none")
    for bad in (tampered, foreign, none_alg, "garbage", "a.b.c", "x" * 9000):
        assert introspect(client, rs, bad) == {"active": False}


def test_expired_access_token_is_inactive(client, make_settings, factory):
    from starlette.testclient import TestClient

    from authserver.app import create_app

    short = make_settings(access_token_ttl=30)
    app = factory.password_client()
    rs = factory.resource_server()
    user = factory.user()

    class Later:
        def now(self) -> float:
            return time.time() + 31

    with TestClient(create_app(short), base_url=short.issuer) as now_client:
        token = password_grant(now_client, app, user).json()["access_token"]
        assert introspect(now_client, rs, token)["active"] is True
    with TestClient(create_app(short, clock=Later()), base_url=short.issuer) as later:
        assert introspect(later, rs, token) == {"active": False}


def test_disabled_user_and_tokens_valid_after(client, factory, services):
    app = factory.password_client()
    rs = factory.resource_server()
    user = factory.user()
    token = password_grant(client, app, user).json()["access_token"]
    with services.db.unit_of_work() as uow:
        uow.users.invalidate_tokens_before(
            user.id, claims(token)["iat"] + 1, to_datetime(time.time())
        )
    assert introspect(client, rs, token) == {"active": False}
    other_user = factory.user()
    token2 = password_grant(client, app, other_user).json()["access_token"]
    with services.db.unit_of_work() as uow:
        uow.users.get(other_user.id).disabled_at = to_datetime(time.time())
    assert introspect(client, rs, token2) == {"active": False}


def test_logout_everywhere_kills_tokens_issued_in_the_same_second(client, factory, services):
    app = factory.password_client()
    rs = factory.resource_server()
    user = factory.user()
    body = password_grant(client, app, user).json()
    with services.db.unit_of_work() as uow:
        login_sessions.end_all(uow, services.clock, user.id)
    assert introspect(client, rs, body["access_token"]) == {"active": False}
    assert refresh_grant(client, app, body["refresh_token"]).json()["error"] == "invalid_grant"
    fresh = password_grant(client, app, user).json()
    assert introspect(client, rs, fresh["access_token"])["active"] is True


def test_deleted_client_tokens_are_inactive(client, factory, services):
    app = factory.password_client()
    svc = factory.client()
    rs = factory.resource_server()
    user_token = password_grant(client, app, factory.user()).json()["access_token"]
    svc_token = client.post(
        "/token", data={"grant_type": "client_credentials"}, auth=svc.basic_auth
    ).json()["access_token"]
    with services.db.unit_of_work() as uow:
        uow.clients.delete(app.client_id)
        uow.clients.delete(svc.client_id)
    assert introspect(client, rs, user_token) == {"active": False}
    assert introspect(client, rs, svc_token) == {"active": False}


def test_public_clients_may_not_introspect(client, factory):
    app = factory.password_client(public=True)
    token = password_grant(client, app, factory.user()).json()["access_token"]
    r = client.post("/introspect", data={"token": token, "client_id": app.client_id})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


def test_unauthenticated_request_is_invalid_client(client):
    r = client.post("/introspect", data={"token": "x"})
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Basic ")


def test_a_client_sees_only_its_own_tokens_and_those_naming_it(client, factory):
    """RFC 7662 §4: no token scanning. Any confidential client (a self-registered one
    too) introspects only tokens issued to it or whose `aud` names it; everything else
    answers exactly as an unknown token does."""
    app = factory.password_client()
    api = factory.client(client_id="orders-api")
    aimed = factory.password_client(audience=["orders-api", "https://other.example"])
    user = factory.user()
    foreign = password_grant(client, app, user).json()
    assert introspect(client, api, foreign["access_token"]) == {"active": False}
    assert introspect(client, api, foreign["refresh_token"]) == {"active": False}
    assert introspect(client, app, foreign["access_token"])["active"] is True
    naming = password_grant(client, aimed, user).json()["access_token"]
    assert introspect(client, api, naming)["active"] is True
    own = client.post(
        "/token", data={"grant_type": "client_credentials"}, auth=api.basic_auth
    ).json()["access_token"]
    assert introspect(client, api, own)["active"] is True
    assert introspect(client, app, own) == {"active": False}


def test_resource_servers_get_introspection_from_the_admin_api(client, factory):
    app = factory.password_client()
    api = factory.client()
    token = password_grant(client, app, factory.user()).json()["access_token"]
    assert introspect(client, api, token) == {"active": False}
    admin_app = factory.password_client(scope="openid admin")
    admin = factory.user(role="admin")
    bearer = password_grant(client, admin_app, admin, scope="admin").json()["access_token"]
    headers = {"Authorization": f"Bearer {bearer}"}
    r = client.patch(
        f"/admin/clients/{api.client_id}", json={"allow_introspection": True}, headers=headers
    )
    assert r.status_code == 200 and r.json()["allow_introspection"] is True
    assert introspect(client, api, token)["active"] is True
    created = client.post(
        "/admin/clients",
        json={
            "name": "Billing API",
            "grant_types": ["client_credentials"],
            "scope": "x",
            "allow_introspection": True,
        },
        headers=headers,
    ).json()
    rs = type(api)(created["client_id"], created["client_secret"], [])
    assert introspect(client, rs, token)["active"] is True
    r = client.patch(
        f"/admin/clients/{api.client_id}", json={"allow_introspection": False}, headers=headers
    )
    assert r.json()["allow_introspection"] is False
    assert introspect(client, api, token) == {"active": False}
