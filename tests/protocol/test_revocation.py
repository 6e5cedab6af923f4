"""POST /revoke (RFC 7009)."""

from __future__ import annotations

from tests.helpers import introspect, password_grant, refresh_grant, revoke


def test_revoking_a_refresh_token_revokes_its_family(client, factory):
    app = factory.password_client()
    rs = factory.resource_server()
    first = password_grant(client, app, factory.user()).json()
    second = refresh_grant(client, app, first["refresh_token"]).json()
    r = revoke(client, app, second["refresh_token"], token_type_hint="refresh_token")
    assert r.status_code == 200 and r.json() == {}
    assert refresh_grant(client, app, second["refresh_token"]).json()["error"] == "invalid_grant"
    assert introspect(client, rs, second["access_token"]) == {"active": False}


def test_revoking_an_access_token_denies_its_jti_only(client, factory):
    app = factory.password_client()
    rs = factory.resource_server()
    body = password_grant(client, app, factory.user()).json()
    assert revoke(client, app, body["access_token"]).status_code == 200
    assert introspect(client, rs, body["access_token"]) == {"active": False}
    # The refresh token (and the family) live on: RFC 7009 §2.1 leaves that to us.
    assert refresh_grant(client, app, body["refresh_token"]).status_code == 200


def test_client_credentials_token_can_be_revoked(client, factory):
    svc = factory.client()
    rs = factory.resource_server()
    token = client.post(
        "/token", data={"grant_type": "client_credentials"}, auth=svc.basic_auth
    ).json()["access_token"]
    assert introspect(client, rs, token)["active"] is True
    assert revoke(client, svc, token).status_code == 200
    assert introspect(client, rs, token) == {"active": False}


def test_unknown_and_garbage_tokens_answer_200(client, factory):
    app = factory.password_client()
    for token in ("nope", "a.b.c", "x" * 5000):
        assert revoke(client, app, token).status_code == 200


def test_the_hint_is_only_a_hint(client, factory):
    app = factory.password_client()
    body = password_grant(client, app, factory.user()).json()
    revoke(client, app, body["refresh_token"], token_type_hint="access_token")
    assert refresh_grant(client, app, body["refresh_token"]).json()["error"] == "invalid_grant"


def test_unsupported_hint_value(client, factory):
    app = factory.password_client()
    r = revoke(client, app, "x", token_type_hint="id_token")
    assert r.status_code == 400 and r.json()["error"] == "unsupported_token_type"


def test_another_clients_token_is_refused_and_stays_valid(client, factory):
    app = factory.password_client()
    other = factory.password_client()
    body = password_grant(client, app, factory.user()).json()
    r = revoke(client, other, body["refresh_token"])
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert refresh_grant(client, app, body["refresh_token"]).status_code == 200


def test_public_client_revokes_its_own_refresh_token(client, factory):
    app = factory.password_client(public=True)
    body = password_grant(client, app, factory.user()).json()
    assert revoke(client, app, body["refresh_token"]).status_code == 200
    assert refresh_grant(client, app, body["refresh_token"]).json()["error"] == "invalid_grant"


def test_client_authentication_is_required(client, factory):
    app = factory.password_client()
    body = password_grant(client, app, factory.user()).json()
    r = client.post("/revoke", data={"token": body["refresh_token"]})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert refresh_grant(client, app, body["refresh_token"]).status_code == 200


def test_missing_token_is_invalid_request(client, factory):
    app = factory.password_client()
    r = client.post("/revoke", data={"token_type_hint": "refresh_token"}, auth=app.basic_auth)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
