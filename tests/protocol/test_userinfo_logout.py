"""/userinfo (OIDC Core §5.3) and RP-initiated logout."""

from __future__ import annotations

import pytest

from authserver.accounts import login_sessions
from tests.helpers import introspect, refresh_grant
from tests.oidc import REDIRECT, Flow, hidden_fields, query_of

BYE = "https://app.example.com/bye"


@pytest.fixture
def web_app(factory):
    return factory.client(
        grant_types=["authorization_code", "refresh_token"],
        scope="openid profile email offline_access api:read",
        redirect_uris=[REDIRECT],
        post_logout_redirect_uris=[BYE],
        allowed_cors_origins=["https://app.example.com"],
    )


def _login(client, factory, web_app, scope="openid email offline_access"):
    """A new user logs in (in a fresh browser) and the app exchanges the code."""
    client.cookies.clear()
    user = factory.user()
    flow = Flow(client, web_app, scope=scope)
    return user, flow.exchange(flow.authorize(user)["code"]).json()


def test_userinfo_returns_the_scoped_claims(client, factory, web_app):
    user, body = _login(client, factory, web_app)
    for method in ("get", "post"):
        r = getattr(client, method)(
            "/userinfo",
            headers={
                "Authorization": f"Bearer {body['access_token']}",
                "Origin": "https://app.example.com",
            },
        )
        assert r.status_code == 200
        assert r.json() == {"sub": user.id, "email": user.email, "email_verified": False}
        assert r.headers["access-control-allow-origin"] == "https://app.example.com"


def test_userinfo_errors_follow_rfc_6750(client, factory, web_app):
    r = client.get("/userinfo")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    r = client.get("/userinfo", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and 'error="invalid_token"' in r.headers["www-authenticate"]
    app = factory.password_client(scope="api:read")
    user = factory.user()
    token = client.post(
        "/token",
        auth=app.basic_auth,
        data={
            "grant_type": "password",
            "username": user.email,
            "password": user.password,
            "scope": "api:read",
        },
    ).json()["access_token"]
    r = client.get("/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403 and 'error="insufficient_scope"' in r.headers["www-authenticate"]


def test_userinfo_honours_revocation(client, factory, web_app, services):
    _, body = _login(client, factory, web_app)
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert client.get("/userinfo", headers=headers).status_code == 200
    client.post("/revoke", auth=web_app.basic_auth, data={"token": body["access_token"]})
    assert client.get("/userinfo", headers=headers).status_code == 401
    user2, body2 = _login(client, factory, web_app)
    with services.db.unit_of_work() as uow:
        login_sessions.end_all(uow, services.clock, user2.id)
    assert (
        client.get(
            "/userinfo", headers={"Authorization": f"Bearer {body2['access_token']}"}
        ).status_code
        == 401
    )


def test_logout_with_hint_ends_the_session_revokes_its_families_and_redirects(
    client, factory, web_app
):
    rs = factory.resource_server()
    _, body = _login(client, factory, web_app)
    r = client.get(
        "/logout",
        params={"id_token_hint": body["id_token"], "post_logout_redirect_uri": BYE, "state": "s1"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"{BYE}?state=s1"
    assert "session=" in r.headers.get("set-cookie", "")
    assert introspect(client, rs, body["access_token"]) == {"active": False}
    assert refresh_grant(client, web_app, body["refresh_token"]).json()["error"] == "invalid_grant"
    # The browser is logged out: the next authorization asks for a login.
    r = Flow(client, web_app).start()
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_logout_without_hint_asks_for_confirmation(client, factory, web_app):
    _login(client, factory, web_app)
    page = client.get("/logout", params={"client_id": web_app.client_id})
    assert page.status_code == 200 and "Sign out?" in page.text
    # Still logged in until confirmed.
    assert Flow(client, web_app).start(prompt="none").status_code == 302
    fields = hidden_fields(page.text)
    r = client.post("/logout", data={**fields, "confirm": "yes"}, follow_redirects=False)
    assert r.status_code == 200 and "signed out" in r.text
    r = Flow(client, web_app).start(prompt="none")
    assert query_of(r.headers["location"])["error"] == "login_required"


def test_logout_confirmation_needs_csrf(client, factory, web_app):
    _login(client, factory, web_app)
    r = client.post("/logout", data={"confirm": "yes"})
    assert r.status_code == 403
    assert Flow(client, web_app).start(prompt="none").status_code == 302


@pytest.mark.parametrize(
    "params",
    [
        {"post_logout_redirect_uri": "https://evil.example/"},
        {"post_logout_redirect_uri": BYE},  # no client named: cannot check it
        {"id_token_hint": "a.b.c", "post_logout_redirect_uri": BYE},
    ],
)
def test_no_open_redirect_and_no_tampered_hint(client, factory, web_app, params):
    _, body = _login(client, factory, web_app)
    if params.get("id_token_hint") == "a.b.c":
        head, payload, sig = body["id_token"].split(".")
        params = {**params, "id_token_hint": f"{head}.{payload}x.{sig}"}
    r = client.get("/logout", params=params, follow_redirects=False)
    assert r.status_code == 400 and "location" not in r.headers


def test_a_redirect_uri_without_hint_or_client_id_says_what_is_missing(client, web_app):
    r = client.get("/logout", params={"post_logout_redirect_uri": BYE}, follow_redirects=False)
    assert r.status_code == 400 and "location" not in r.headers
    assert "needs an id_token_hint or a client_id" in r.text
    assert "not registered" not in r.text
    r = client.get(
        "/logout",
        params={
            "post_logout_redirect_uri": "https://evil.example/",
            "client_id": web_app.client_id,
        },
        follow_redirects=False,
    )
    assert r.status_code == 400 and "is not registered for the client" in r.text


def test_hint_and_client_id_must_agree(client, factory, web_app):
    other = factory.client(
        grant_types=["authorization_code"],
        scope="openid",
        redirect_uris=[REDIRECT],
        post_logout_redirect_uris=[BYE],
    )
    _, body = _login(client, factory, web_app)
    r = client.get(
        "/logout",
        params={
            "id_token_hint": body["id_token"],
            "client_id": other.client_id,
            "post_logout_redirect_uri": BYE,
        },
        follow_redirects=False,
    )
    assert r.status_code == 400


def test_bearer_post_to_logout_is_the_api_logout(client, factory, web_app):
    rs = factory.resource_server()
    _, body = _login(client, factory, web_app)
    r = client.post("/logout", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert r.status_code == 204
    assert introspect(client, rs, body["access_token"]) == {"active": False}
