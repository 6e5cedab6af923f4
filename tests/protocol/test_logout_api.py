"""The API logout: POST /logout-all, and POST /logout with a Bearer token (the /logout
route hands those to ``logout_api.logout_current``); RFC 6750 §3 errors."""

from __future__ import annotations

import pytest

from authserver.audit import AuditEvent
from tests.accounts_helpers import browser, login
from tests.helpers import introspect, password_grant, refresh_grant


@pytest.fixture
def api(client):
    return client


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_logout_all_ends_every_session_and_grant(api, factory, settings, services):
    user = factory.user()
    app = factory.password_client(first_party=True)
    rs = factory.resource_server()
    first = password_grant(api, app, user).json()
    second = password_grant(api, app, user).json()
    with browser(settings) as web:
        login(web, user.email, user.password)
        r = api.post("/logout-all", headers=_bearer(first["access_token"]))
        assert r.status_code == 204 and r.content == b""
        assert web.get("/account", follow_redirects=False).status_code == 303
    for tokens in (first, second):
        assert introspect(api, rs, tokens["access_token"]) == {"active": False}
        assert refresh_grant(api, app, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    # The token that asked is dead too.
    assert api.post("/logout-all", headers=_bearer(first["access_token"])).status_code == 401
    with services.db.unit_of_work() as uow:
        (event,) = uow.audit.query(event=str(AuditEvent.SESSIONS_ENDED))
    assert event.user_id == user.id and event.client_id == app.client_id
    assert event.details == {"scope": "all", "via": "api", "sessions_ended": 1}
    # A fresh login works afterwards: log out is not a lockout.
    assert password_grant(api, app, user).status_code == 200


def test_logout_current_ends_only_that_grant(api, factory, services):
    user = factory.user()
    app = factory.password_client()
    rs = factory.resource_server()
    this = password_grant(api, app, user).json()
    other = password_grant(api, app, user).json()
    r = api.post("/logout", headers=_bearer(this["access_token"]))
    assert r.status_code == 204
    assert introspect(api, rs, this["access_token"]) == {"active": False}
    assert refresh_grant(api, app, this["refresh_token"]).json()["error"] == "invalid_grant"
    assert introspect(api, rs, other["access_token"])["active"] is True
    assert refresh_grant(api, app, other["refresh_token"]).status_code == 200
    with services.db.unit_of_work() as uow:
        (event,) = uow.audit.query(event=str(AuditEvent.LOGOUT))
    assert event.user_id == user.id and event.client_id == app.client_id


def test_bearer_errors_follow_rfc_6750(api):
    r = api.post("/logout-all")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert (
        api.post("/logout-all", headers={"Authorization": "Basic dXNlcjpwYXNz"}).status_code == 401
    )
    # (POST /logout without a Bearer header is RP-initiated logout, a page.)
    for path in ("/logout-all", "/logout"):
        r = api.post(path, headers=_bearer("not-a-token"))
        assert r.status_code == 401 and r.json()["error"] == "invalid_token"
        assert 'error="invalid_token"' in r.headers["www-authenticate"]


def test_logout_all_needs_a_user_token(api, factory, services):
    svc = factory.client(scope="api:read")
    token = api.post(
        "/token", auth=svc.basic_auth, data={"grant_type": "client_credentials"}
    ).json()["access_token"]
    r = api.post("/logout-all", headers=_bearer(token))
    assert r.status_code == 403 and r.json()["error"] == "insufficient_scope"
    with services.db.unit_of_work() as uow:
        assert uow.audit.query(event=str(AuditEvent.SESSIONS_ENDED)) == []
    # The client's own token can still be logged out (denied) through /logout.
    assert api.post("/logout", headers=_bearer(token)).status_code == 204
    assert api.post("/logout", headers=_bearer(token)).status_code == 401


def test_logout_all_needs_a_first_party_app_or_the_logout_all_scope(api, factory, settings):
    """A third-party app granted only openid must not sign the user out everywhere."""
    user = factory.user()
    third_party = factory.password_client(scope="openid logout_all")
    with browser(settings) as web:
        login(web, user.email, user.password)
        plain = password_grant(api, third_party, user, scope="openid").json()
        r = api.post("/logout-all", headers=_bearer(plain["access_token"]))
        assert r.status_code == 403 and r.json()["error"] == "insufficient_scope"
        assert 'scope="logout_all"' in r.headers["www-authenticate"]
        assert web.get("/account", follow_redirects=False).status_code == 200
        assert refresh_grant(api, third_party, plain["refresh_token"]).status_code == 200
        granted = password_grant(api, third_party, user, scope="openid logout_all").json()
        assert api.post("/logout-all", headers=_bearer(granted["access_token"])).status_code == 204
        assert web.get("/account", follow_redirects=False).status_code == 303


def test_tokens_for_another_audience_cannot_log_out(api, factory, settings):
    """An API that was sent a user's token (aud = the API) cannot replay it here."""
    user = factory.user()
    app = factory.password_client(first_party=True, audience=["https://api.example.com"])
    with browser(settings) as web:
        login(web, user.email, user.password)
        tokens = password_grant(api, app, user).json()
        for path in ("/logout-all", "/logout"):
            r = api.post(path, headers=_bearer(tokens["access_token"]))
            assert r.status_code == 401 and r.json()["error"] == "invalid_token", path
        assert web.get("/account", follow_redirects=False).status_code == 200
    assert refresh_grant(api, app, tokens["refresh_token"]).status_code == 200
