"""Role sets and authentication methods in tokens: `role` + `roles` in access tokens,
`roles` in ID tokens and userinfo under the `roles` scope, `amr` from the login session
through codes and refresh families; the admin API and CLI manage role sets."""

from __future__ import annotations

import pytest

from authserver.cli import main as cli_main
from tests.helpers import claims, password_grant, refresh_grant
from tests.oidc import REDIRECT, Flow


@pytest.fixture
def web_app(factory):
    return factory.client(
        grant_types=["authorization_code", "refresh_token"],
        scope="openid email offline_access roles api:read",
        redirect_uris=[REDIRECT],
    )


@pytest.fixture
def admin_http(client, factory):
    app = factory.password_client(scope="openid admin")
    admin = factory.user(role="admin")
    token = password_grant(client, app, admin, scope="admin").json()["access_token"]
    client.headers["Authorization"] = f"Bearer {token}"
    yield client
    client.headers.pop("Authorization", None)


def test_access_tokens_carry_role_roles_and_amr(client, factory):
    app = factory.password_client(scope="openid api:read admin")
    admin = factory.user(role="admin")
    at = claims(password_grant(client, app, admin, scope="api:read").json()["access_token"])
    assert at["role"] == "admin" and at["roles"] == ["admin", "user"]
    assert at["amr"] == ["pwd"]
    plain = factory.user()
    at = claims(password_grant(client, app, plain, scope="api:read").json()["access_token"])
    assert at["role"] == "user" and at["roles"] == ["user"]


def test_client_credentials_tokens_have_no_user_claims(client, factory):
    app = factory.client(scope="api:read")
    at = claims(
        client.post(
            "/token", data={"grant_type": "client_credentials"}, auth=app.basic_auth
        ).json()["access_token"]
    )
    assert not {"role", "roles", "amr"} & set(at)


def test_code_flow_carries_amr_through_the_code_and_the_refresh(client, factory, web_app):
    user = factory.user()
    flow = Flow(client, web_app, scope="openid email offline_access")
    tokens = flow.exchange(flow.authorize(user)["code"]).json()
    idt = claims(tokens["id_token"])
    assert idt["amr"] == ["pwd"] and "roles" not in idt
    assert claims(tokens["access_token"])["amr"] == ["pwd"]
    again = refresh_grant(client, web_app, tokens["refresh_token"]).json()
    assert claims(again["id_token"])["amr"] == ["pwd"]
    assert claims(again["access_token"])["amr"] == ["pwd"]


def test_roles_scope_puts_roles_in_the_id_token_and_userinfo(client, factory, web_app):
    user = factory.user()
    flow = Flow(client, web_app, scope="openid roles")
    tokens = flow.exchange(flow.authorize(user)["code"]).json()
    assert claims(tokens["id_token"])["roles"] == ["user"]
    info = client.get(
        "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    ).json()
    assert info["roles"] == ["user"]
    flow = Flow(client, web_app, scope="openid email")
    tokens = flow.exchange(flow.authorize(user)["code"]).json()
    info = client.get(
        "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    ).json()
    assert "roles" not in info


def test_discovery_advertises_the_roles_scope_and_claims(client):
    meta = client.get("/.well-known/openid-configuration").json()
    assert "roles" in meta["scopes_supported"]
    assert {"roles", "amr"} <= set(meta["claims_supported"])


def test_admin_defines_roles_and_sets_a_users_roles(admin_http, factory):
    client = admin_http
    r = client.post("/admin/roles", json={"name": "auditor", "description": "Reads audit"})
    assert r.status_code == 201, r.text
    assert client.post("/admin/roles", json={"name": "auditor"}).status_code == 409
    assert client.post("/admin/roles", json={"name": "Bad Name"}).status_code == 400
    names = {r["name"]: r["built_in"] for r in client.get("/admin/roles").json()["items"]}
    assert names == {"admin": True, "auditor": False, "user": True}

    app = factory.password_client(scope="openid api:read")
    user = factory.user()
    tokens = password_grant(client, app, user, scope="openid api:read").json()
    r = client.patch(f"/admin/users/{user.id}", json={"roles": ["auditor"]})
    assert r.status_code == 200, r.text
    assert r.json()["roles"] == ["auditor", "user"] and r.json()["role"] == "user"
    # The change ended the user's refresh families.
    again = refresh_grant(client, app, tokens["refresh_token"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    fresh = claims(password_grant(client, app, user, scope="api:read").json()["access_token"])
    assert fresh["roles"] == ["auditor", "user"]

    bad = client.patch(f"/admin/users/{user.id}", json={"roles": ["nonexistent"]})
    assert bad.status_code == 400 and "nonexistent" in bad.json()["error_description"]
    assert client.delete("/admin/roles/auditor").status_code == 409  # still held
    assert client.delete("/admin/roles/user").status_code == 400  # built in
    client.patch(f"/admin/users/{user.id}", json={"roles": []})
    assert client.delete("/admin/roles/auditor").status_code == 204
    assert client.delete("/admin/roles/auditor").status_code == 404


def test_the_admin_scope_follows_the_admin_role(client, factory, services):
    app = factory.password_client(scope="openid admin")
    user = factory.user()
    r = password_grant(client, app, user, scope="admin")
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"
    with services.db.unit_of_work() as uow:
        uow.users.get(user.id).roles = ["admin", "user"]
    assert password_grant(client, app, user, scope="admin").status_code == 200


def test_cli_manages_roles(settings, factory, monkeypatch, capsys):
    for name, value in {
        "AUTHSERVER_DATABASE_URL": settings.database_url,
        "AUTHSERVER_KEYS_DIR": str(settings.keys_dir),
        "AUTHSERVER_REDIS_URL": settings.redis_url or "",
        "AUTHSERVER_REDIS_PREFIX": settings.redis_prefix,
    }.items():
        monkeypatch.setenv(name, value)
    user = factory.user()
    assert cli_main(["roles", "create", "billing", "--description", "Invoices"]) == 0
    assert cli_main(["users", "set-roles", user.email, "billing", "admin", "--json"]) == 0
    assert '"roles": [\n    "admin",\n    "billing",\n    "user"\n  ]' in capsys.readouterr().out
    assert cli_main(["roles", "delete", "billing"]) == 2
    assert "held by 1 user" in capsys.readouterr().err
    assert cli_main(["users", "set-roles", user.id, "nope"]) == 2
    assert "No such role: nope" in capsys.readouterr().err
