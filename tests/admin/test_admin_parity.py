"""The admin API does what the CLI does for users (create, delete, reset the password),
authenticates before it parses anything, and describes itself with operation ids, tags and
examples that are true."""

from __future__ import annotations

import re

import pytest

from authserver.admin import schemas
from authserver.admin.openapi import MODELS, TAGS, build
from tests.accounts_helpers import outbox
from tests.helpers import password_grant


@pytest.fixture
def admin_http(client, factory):
    app = factory.password_client(scope="openid admin")
    admin = factory.user(role="admin")
    token = password_grant(client, app, admin, scope="admin").json()["access_token"]
    client.headers["Authorization"] = f"Bearer {token}"
    client.admin_id = admin.id  # type: ignore[attr-defined]
    client.app = app  # type: ignore[attr-defined]
    yield client
    client.headers.pop("Authorization", None)


BAD_BODIES = [
    ("post", "/admin/clients", {"content": b"{not json", "headers": {}}),
    ("post", "/admin/clients", {"content": b"name=x", "headers": {"Content-Type": "text/plain"}}),
    ("post", "/admin/users", {"json": {"email": 5}}),
    ("patch", "/admin/users/x", {"json": {"roles": "admin"}}),
    ("post", "/admin/users/x/password", {"json": []}),
    ("post", "/admin/keys/rotate", {"json": {"immediately": "yes"}}),
    ("post", "/admin/roles", {"json": {}}),
    ("put", "/admin/scopes/x", {"json": {"texts": 1}}),
    ("get", "/admin/users?limit=lots", {}),
    ("get", "/admin/audit?since=yesterday", {}),
]


@pytest.mark.parametrize(("method", "path", "request_kw"), BAD_BODIES)
def test_bodies_and_parameters_of_the_wrong_type_get_401_before_anything(
    client, factory, method, path, request_kw
):
    r = client.request(method.upper(), path, **request_kw)
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer"), r.text
    app = factory.password_client(scope="openid admin")
    user = factory.user()
    plain = password_grant(client, app, user).json()["access_token"]
    kw = {
        **request_kw,
        "headers": {**request_kw.get("headers", {}), "Authorization": f"Bearer {plain}"},
    }
    assert client.request(method.upper(), path, **kw).status_code == 403


@pytest.mark.parametrize(("method", "path", "request_kw"), BAD_BODIES)
def test_an_administrator_is_told_what_is_wrong(admin_http, method, path, request_kw):
    r = admin_http.request(method.upper(), path, **request_kw)
    expected = 415 if "text/plain" in str(request_kw) or "content" in request_kw else 400
    if "{not json" in str(request_kw):
        expected = 415  # no content type given
    assert r.status_code == expected, r.text
    assert r.json()["error"] == "invalid_request"


def test_create_reset_and_delete_users(admin_http, factory, settings):
    r = admin_http.post("/admin/users", json={"email": "Bea@Example.com", "password": "short"})
    assert r.status_code == 400 and "at least 8" in r.json()["error_description"]
    r = admin_http.post(
        "/admin/users",
        json={"email": "Bea@Example.com", "password": "a long enough password", "name": "Bea"},
    )
    assert r.status_code == 201, r.text
    bea = r.json()
    assert bea["email"] == "Bea@example.com" and bea["roles"] == ["user"]
    assert (
        admin_http.post(
            "/admin/users", json={"email": "bea@example.com", "password": "another long one"}
        ).status_code
        == 409
    )
    app = admin_http.app
    login = {
        "grant_type": "password",
        "username": "bea@example.com",
        "password": "a long enough password",
    }
    first = admin_http.post(
        "/token", data=login, auth=app.basic_auth, headers={"Authorization": ""}
    )
    assert first.status_code == 200

    r = admin_http.post(f"/admin/users/{bea['id']}/password", json={})
    assert r.json() == {"user_id": bea["id"], "link_sent": True, "password_set": False}
    (mail,) = [m for m in outbox(settings) if m["To"] == "Bea@example.com"]
    assert re.search(r"/password/reset\?token=", mail.get_body(("plain",)).get_content())

    r = admin_http.post(f"/admin/users/{bea['id']}/password", json={"password": "new password!"})
    assert r.json()["password_set"] is True
    assert (
        admin_http.post(
            "/token", data=login, auth=app.basic_auth, headers={"Authorization": ""}
        ).status_code
        == 400
    )
    gone = {"Authorization": f"Bearer {first.json()['access_token']}"}
    assert admin_http.get("/userinfo", headers=gone).status_code == 401

    assert admin_http.delete(f"/admin/users/{admin_http.admin_id}").status_code == 409
    assert admin_http.delete(f"/admin/users/{bea['id']}").status_code == 204
    assert admin_http.get(f"/admin/users/{bea['id']}").status_code == 404
    assert admin_http.delete(f"/admin/users/{bea['id']}").status_code == 404
    items = admin_http.get("/admin/audit", params={"user_id": bea["id"]}).json()["items"]
    mine = [e["event"] for e in items if e["details"].get("actor") == admin_http.admin_id]
    assert mine == ["user.deleted", "password.changed", "password.reset_requested", "user.created"]


def test_every_operation_has_an_id_a_tag_and_true_examples():
    doc = build()
    by_name = {m.__name__.replace("[", "_").replace("]", "_").replace(".", "_"): m for m in MODELS}
    ids, tags = [], {t["name"] for t in TAGS}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            ids.append(op["operationId"])
            assert op["tags"][0] in tags, (path, method)
            bodies = [op.get("requestBody", {}).get("content", {})]
            bodies += [r.get("content", {}) for r in op["responses"].values()]
            for content in bodies:
                for media in content.values():
                    model = by_name[media["schema"]["$ref"].rsplit("/", 1)[1]]
                    model.model_validate(media["example"])  # raises if the example lies
    assert len(ids) == len(set(ids))
    assert schemas.PasswordReset.model_validate({}).password is None
