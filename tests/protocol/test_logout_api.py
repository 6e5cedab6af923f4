"""The API logout: POST /logout-all with a Bearer token, and ``logout_current`` (which
the /logout route dispatches Bearer POSTs to); RFC 6750 §3 errors."""

from __future__ import annotations

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from authserver.app import create_app
from authserver.audit import AuditEvent
from authserver.endpoints import logout_api
from tests.accounts_helpers import browser, login
from tests.helpers import introspect, password_grant, refresh_grant


@pytest.fixture
def api(settings):
    """The app with POST /logout routed to ``logout_current``, as the lead wires it."""
    app = create_app(settings)
    app.app.router.routes.append(Route("/logout", logout_api.logout_current, methods=["POST"]))
    with TestClient(app, base_url=settings.issuer) as http:
        yield http


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_logout_all_ends_every_session_and_grant(api, factory, settings, services):
    user = factory.user()
    app = factory.password_client()
    rs = factory.client()
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
    rs = factory.client()
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


@pytest.mark.parametrize("path", ["/logout-all", "/logout"])
def test_bearer_errors_follow_rfc_6750(api, factory, path):
    r = api.post(path)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    r = api.post(path, headers=_bearer("not-a-token"))
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in r.headers["www-authenticate"]
    r = api.post(path, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert r.status_code == 401


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
