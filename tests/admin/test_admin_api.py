"""The admin API over HTTP, as an operator's tooling uses it."""

from __future__ import annotations

import pytest

from tests.helpers import introspect, password_grant, refresh_grant


@pytest.fixture
def admin_http(client, factory):
    """A client whose requests carry an admin's access token with the admin scope."""
    app = factory.password_client(scope="openid admin")
    admin = factory.user(role="admin")
    token = password_grant(client, app, admin, scope="admin").json()["access_token"]
    client.headers["Authorization"] = f"Bearer {token}"
    client.admin_id = admin.id  # type: ignore[attr-defined]
    yield client
    client.headers.pop("Authorization", None)


def test_requires_an_admin_token(client, factory):
    assert client.get("/admin/clients").status_code == 401
    assert client.get("/admin/clients").headers["www-authenticate"] == "Bearer"
    app = factory.password_client(scope="openid api:read admin")
    user = factory.user()
    plain = password_grant(client, app, user).json()["access_token"]
    r = client.get("/admin/clients", headers={"Authorization": f"Bearer {plain}"})
    assert r.status_code == 403 and r.json()["error"] == "insufficient_scope"
    bad = client.get("/admin/clients", headers={"Authorization": "Bearer not.a.token"})
    assert bad.status_code == 401 and 'error="invalid_token"' in bad.headers["www-authenticate"]


def test_a_demoted_admin_loses_access_at_once(admin_http, factory):
    assert admin_http.get("/admin/users").status_code == 200
    r = admin_http.patch(f"/admin/users/{admin_http.admin_id}", json={"role": "user"})
    assert r.status_code == 200
    assert admin_http.get("/admin/users").status_code == 401  # the token is void now


def test_a_role_change_ends_the_users_tokens(admin_http, factory):
    app = factory.password_client(scope="openid admin")
    other = factory.user(role="admin")
    tokens = password_grant(admin_http, app, other, scope="admin").json()
    r = admin_http.patch(f"/admin/users/{other.id}", json={"role": "user"})
    assert r.status_code == 200 and r.json()["role"] == "user"
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert admin_http.get("/admin/users", headers=bearer).status_code == 401
    again = refresh_grant(admin_http, app, tokens["refresh_token"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_a_refresh_grants_no_scope_the_users_role_lost(client, factory, services):
    app = factory.password_client(scope="openid admin")
    user = factory.user(role="admin")
    tokens = password_grant(client, app, user, scope="admin").json()
    with services.db.unit_of_work() as uow:  # changed behind the admin API's back
        uow.users.get(user.id).roles = ["user"]
    r = refresh_grant(client, app, tokens["refresh_token"])
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"


def test_client_lifecycle_is_audited(admin_http, services):
    r = admin_http.post(
        "/admin/clients",
        json={"name": "Reports", "grant_types": ["client_credentials"], "scope": "reports:read"},
    )
    assert r.status_code == 201, r.text
    created = r.json()
    cid, secret = created["client_id"], created["client_secret"]
    assert secret and created["scope"] == "reports:read"
    # The secret works at the token endpoint.
    tok = admin_http.post(
        "/token",
        data={"grant_type": "client_credentials"},
        auth=(cid, secret),
        headers={"Authorization": ""},
    )
    assert tok.status_code == 200, tok.text

    assert admin_http.get(f"/admin/clients/{cid}").json()["name"] == "Reports"
    listed = admin_http.get("/admin/clients?limit=1000").json()
    assert cid in [c["client_id"] for c in listed["items"]] and listed["total"] >= 1
    r = admin_http.patch(f"/admin/clients/{cid}", json={"scope": "reports:read reports:write"})
    assert r.status_code == 200 and r.json()["scope"] == "reports:read reports:write"
    new_secret = admin_http.post(f"/admin/clients/{cid}/secret").json()["client_secret"]
    assert new_secret != secret
    old = admin_http.post(
        "/token",
        data={"grant_type": "client_credentials"},
        auth=(cid, secret),
        headers={"Authorization": ""},
    )
    assert old.status_code == 401
    assert admin_http.delete(f"/admin/clients/{cid}").status_code == 204
    assert admin_http.get(f"/admin/clients/{cid}").status_code == 404

    events = admin_http.get(f"/admin/audit?client_id={cid}").json()["items"]
    assert [e["event"] for e in events] == [
        "client.deleted",
        "client.changed",
        "client.changed",
        "client.created",
    ]
    assert all(e["details"]["actor"] == admin_http.admin_id for e in events)


@pytest.mark.parametrize(
    "body",
    [
        {
            "name": "x",
            "grant_types": ["authorization_code"],
            "scope": "openid",
            "redirect_uris": ["http://evil.example/cb"],
        },
        {
            "name": "x",
            "grant_types": ["client_credentials"],
            "scope": "a",
            "token_endpoint_auth_method": "none",
        },
        {"name": "x", "grant_types": ["implicit"], "scope": "a"},
        {"name": "x", "grant_types": ["client_credentials"], "scope": "a", "unknown": 1},
        {"grant_types": ["client_credentials"], "scope": "a"},
    ],
)
def test_invalid_client_metadata_is_400_and_creates_nothing(admin_http, body):
    before = admin_http.get("/admin/clients").json()["total"]
    r = admin_http.post("/admin/clients", json=body)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    assert admin_http.get("/admin/clients").json()["total"] == before


def test_non_json_body_is_415(admin_http):
    r = admin_http.post(
        "/admin/clients",
        content=b"name=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 415


def test_disabling_a_user_ends_their_tokens(admin_http, factory):
    app = factory.password_client()
    rs = factory.resource_server()
    user = factory.user()
    body = password_grant(admin_http, app, user).json()
    r = admin_http.patch(f"/admin/users/{user.id}", json={"disabled": True})
    assert r.status_code == 200 and r.json()["disabled"] is True
    assert introspect(admin_http, rs, body["access_token"]) == {"active": False}
    assert password_grant(admin_http, app, user).json()["error"] == "invalid_grant"
    admin_http.patch(f"/admin/users/{user.id}", json={"disabled": False})
    assert password_grant(admin_http, app, user).status_code == 200


def test_end_all_sessions_of_a_user(admin_http, factory):
    app = factory.password_client()
    rs = factory.resource_server()
    user = factory.user()
    body = password_grant(admin_http, app, user).json()
    r = admin_http.post(f"/admin/users/{user.id}/sessions/end")
    assert r.status_code == 200
    assert introspect(admin_http, rs, body["access_token"]) == {"active": False}
    events = admin_http.get(f"/admin/audit?user_id={user.id}&event=sessions.ended").json()
    assert len(events["items"]) == 1


def test_users_listing_and_lookup(admin_http, factory):
    user = factory.user(email="Carol@Example.com")
    page = admin_http.get("/admin/users?limit=1").json()
    assert len(page["items"]) == 1 and page["total"] >= 2
    found = admin_http.get("/admin/users?email=carol@example.com").json()["items"]
    assert [u["id"] for u in found] == [user.id]
    assert admin_http.get(f"/admin/users/{user.id}").json()["email"] == "Carol@example.com"
    assert admin_http.get("/admin/users/nope").status_code == 404
    assert admin_http.patch(f"/admin/users/{user.id}", json={"role": "root"}).status_code == 400


def test_keys_list_and_rotate(admin_http):
    keys = admin_http.get("/admin/keys").json()["items"]
    assert [k["state"] for k in keys] == ["active"]
    r = admin_http.post("/admin/keys/rotate", json={})
    assert r.status_code == 201
    assert sorted(k["state"] for k in r.json()["items"]) == ["active", "next"]
    assert admin_http.get("/admin/audit?event=key.rotated").json()["items"]


def test_audit_query_validation_and_paging(admin_http, factory):
    for i in range(3):
        admin_http.post(
            "/admin/clients",
            json={"name": f"c{i}", "grant_types": ["client_credentials"], "scope": "a"},
        )
    assert admin_http.get("/admin/audit?since=yesterday").status_code == 400
    assert admin_http.get("/admin/audit?since=2020-01-01T00:00:00").status_code == 400
    assert admin_http.get("/admin/audit?limit=0").status_code == 400
    assert admin_http.get("/admin/audit?limit=%C2%B2").status_code == 400
    assert admin_http.get("/admin/users?offset=" + "9" * 5000).status_code == 400
    first = admin_http.get("/admin/audit?limit=2").json()
    assert len(first["items"]) == 2 and first["next_before_id"]
    rest = admin_http.get(f"/admin/audit?before_id={first['next_before_id']}").json()["items"]
    assert rest and all(e["id"] < first["next_before_id"] for e in rest)
    assert not {e["id"] for e in rest} & {e["id"] for e in first["items"]}


def test_openapi_description_is_served(client):
    doc = client.get("/admin/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    assert "/admin/clients/{client_id}" in doc["paths"]
    assert "ClientCreate" in doc["components"]["schemas"]
