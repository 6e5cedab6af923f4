"""POST /token with grant_type=password (RFC 6749 §4.3), first-party clients only."""

from __future__ import annotations

from tests.helpers import claims, password_grant


def test_issues_access_and_refresh_token_with_user_claims(client, factory):
    app = factory.password_client(scope="openid email api:read")
    user = factory.user(email="Alice@Example.com")
    r = password_grant(client, app, user, scope="api:read email")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["scope"] == "api:read email"
    assert body["refresh_token"] and "." not in body["refresh_token"]
    c = claims(body["access_token"])
    assert c["sub"] == user.id
    assert c["client_id"] == app.client_id
    assert c["email"] == "Alice@example.com"
    assert c["role"] == "user"
    assert abs(c["auth_time"] - c["iat"]) <= 1
    assert c["aud"] == "http://localhost:8000"


def test_email_lookup_ignores_case(client, factory):
    app = factory.password_client()
    user = factory.user(email="bob@example.com")
    r = client.post(
        "/token",
        auth=app.basic_auth,
        data={"grant_type": "password", "username": "BOB@EXAMPLE.COM", "password": user.password},
    )
    assert r.status_code == 200, r.text


def test_wrong_password_and_unknown_user_get_the_same_invalid_grant(client, factory):
    app = factory.password_client()
    user = factory.user()
    wrong = client.post(
        "/token",
        auth=app.basic_auth,
        data={"grant_type": "password", "username": user.email, "password": "not-the-password"},
    )
    unknown = client.post(
        "/token",
        auth=app.basic_auth,
        data={
            "grant_type": "password",
            "username": "nobody@example.com",
            "password": "not-the-password",
        },
    )
    assert wrong.status_code == unknown.status_code == 400
    assert (
        wrong.json()
        == unknown.json()
        == {"error": "invalid_grant", "error_description": "Invalid username or password."}
    )


def test_client_not_registered_for_the_password_grant_is_refused(client, factory):
    svc = factory.client(grant_types=["client_credentials"], scope="api:read")
    user = factory.user()
    r = password_grant(client, svc, user)
    assert r.status_code == 400
    assert r.json()["error"] == "unauthorized_client"


def test_no_refresh_token_without_the_refresh_grant(client, factory):
    app = factory.client(grant_types=["password"], scope="api:read")
    r = password_grant(client, app, factory.user())
    assert r.status_code == 200
    assert "refresh_token" not in r.json()


def test_public_client_uses_none_authentication(client, factory):
    app = factory.password_client(public=True)
    r = password_grant(client, app, factory.user())
    assert r.status_code == 200, r.text


def test_admin_scope_only_for_admin_role(client, factory):
    app = factory.password_client(scope="api:read admin")
    user = factory.user()
    admin = factory.user(role="admin")
    refused = password_grant(client, app, user, scope="admin")
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_scope"
    default = password_grant(client, app, user)
    assert default.json()["scope"] == "api:read"
    granted = password_grant(client, app, admin, scope="admin")
    assert granted.status_code == 200 and claims(granted.json()["access_token"])["role"] == "admin"


def test_missing_credentials_are_invalid_request(client, factory):
    app = factory.password_client()
    r = client.post("/token", auth=app.basic_auth, data={"grant_type": "password", "username": "x"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_disabled_user_cannot_log_in(client, factory, services):
    from authserver.clock import to_datetime

    app = factory.password_client()
    user = factory.user()
    with services.db.unit_of_work() as uow:
        uow.users.get(user.id).disabled_at = to_datetime(services.clock.now())
    r = password_grant(client, app, user)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_bcrypt_hash_from_an_older_system_verifies_and_is_upgraded(client, factory, services):
    import bcrypt

    app = factory.password_client()
    user = factory.user()
    legacy = bcrypt.hashpw(b"legacy password 1", bcrypt.gensalt(rounds=4)).decode()
    with services.db.unit_of_work() as uow:
        uow.users.get(user.id).password_hash = legacy
    r = client.post(
        "/token",
        auth=app.basic_auth,
        data={"grant_type": "password", "username": user.email, "password": "legacy password 1"},
    )
    assert r.status_code == 200, r.text
    with services.db.unit_of_work() as uow:
        assert uow.users.get(user.id).password_hash.startswith("$argon2id$")
