"""Account self-service over HTTP: the name, the apps with access and taking it back,
deleting the account (fresh sign-in, confirmation, audit, the operator's switch)."""

from __future__ import annotations

from authserver.audit import AuditEvent
from tests.accounts_helpers import FakeClock, browser, login, submit
from tests.helpers import refresh_grant
from tests.oidc import REDIRECT, Flow


def test_edit_name_refuses_what_cannot_be_shown(client, factory, services):
    user = factory.user()
    login(client, user.email, user.password)
    ok = submit(client, "/account", "/account/profile", name="<b>Ada</b> L.")
    assert ok.headers["location"] == "/account?notice=name_changed"
    page = client.get("/account")
    assert "&lt;b&gt;Ada&lt;/b&gt; L." in page.text and "<b>Ada</b>" not in page.text
    bad = submit(client, "/account", "/account/profile", name="evil\u202eeman")
    assert bad.status_code == 400 and "cannot be shown" in bad.text
    assert 'aria-describedby="name-error"' in bad.text
    with services.db.unit_of_work() as uow:
        assert uow.users.get(user.id).name == "<b>Ada</b> L."
        events = [e.event for e in uow.audit.query(user_id=user.id)]
    assert events.count(str(AuditEvent.PROFILE_CHANGED)) == 1


def test_remove_access_revokes_the_consent_and_the_apps_tokens(client, factory, services):
    app = factory.client(
        grant_types=["authorization_code", "refresh_token"],
        scope="openid email offline_access",
        redirect_uris=[REDIRECT],
        name="Photo App",
    )
    other = factory.client(
        grant_types=["authorization_code", "refresh_token"],
        scope="openid offline_access",
        redirect_uris=[REDIRECT],
        name="Other App",
    )
    user = factory.user()
    flow = Flow(client, app, scope="openid email offline_access")
    tokens = flow.exchange(flow.authorize(user)["code"]).json()
    other_flow = Flow(client, other, scope="openid offline_access")
    kept = other_flow.exchange(other_flow.authorize(user)["code"]).json()

    page = client.get("/account")
    assert "Photo App" in page.text and "Other App" in page.text
    assert "See your e-mail address" in page.text  # the scopes granted, as on consent

    assert (
        submit(client, "/account", "/account/apps/remove", client_id="nobody").headers["location"]
        == "/account"
    )
    r = submit(client, "/account", "/account/apps/remove", client_id=app.client_id)
    assert r.headers["location"] == "/account?notice=app_removed"

    assert refresh_grant(client, app, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert client.get("/userinfo", headers=bearer).status_code == 401
    assert refresh_grant(client, other, kept["refresh_token"]).status_code == 200
    assert flow.start().status_code == 200  # the consent page again
    with services.db.unit_of_work() as uow:
        assert uow.consents.granted_scopes(user.id, app.client_id) == set()
        (event,) = uow.audit.query(user_id=user.id, event=str(AuditEvent.CONSENT_REVOKED))
        assert event.client_id == app.client_id and event.details["families_revoked"] == 1


def test_delete_needs_a_fresh_sign_in_and_a_confirmation(make_settings, factory):
    clock = FakeClock()
    settings = make_settings()
    user = factory.user()
    with browser(settings, clock) as http:
        login(http, user.email, user.password)
        clock.advance(301)
        stale = http.get("/account/delete", follow_redirects=False)
        assert stale.headers["location"] == "/login?next=%2Faccount%2Fdelete&notice=reauth"
        assert "sign in again" in http.get(stale.headers["location"]).text
        signed_in = submit(
            http, "/login", email=user.email, password=user.password, next="/account/delete"
        )
        assert signed_in.headers["location"] == "/account/delete"
        page = http.get("/account/delete")
        assert page.status_code == 200 and user.email in page.text
        unconfirmed = submit(http, "/account/delete")
        assert unconfirmed.status_code == 400 and 'aria-invalid="true"' in unconfirmed.text
        done = submit(http, "/account/delete", confirm="yes")
        assert done.headers["location"] == "/?notice=account_deleted"
        assert "Your account was deleted." in http.get("/?notice=account_deleted").text
        assert http.get("/account", follow_redirects=False).status_code == 303
        services = http.app_state["services"]
        with services.db.unit_of_work() as uow:
            assert uow.users.get(user.id) is None
            (event,) = uow.audit.query(user_id=user.id, event=str(AuditEvent.ACCOUNT_DELETED))
            assert event.details["via"] == "self"
    assert login_fails(settings, user)


def login_fails(settings, user) -> bool:
    with browser(settings, ip="192.0.2.44") as http:
        return login(http, user.email, user.password).status_code == 401


def test_the_operator_can_switch_deletion_off(make_settings, factory):
    settings = make_settings(account_deletion_enabled=False)
    user = factory.user()
    with browser(settings) as http:
        login(http, user.email, user.password)
        assert 'href="/account/delete"' not in http.get("/account").text
        assert http.get("/account/delete").status_code == 403
        refused = http.post("/account/delete", data={"csrf_token": _csrf(http), "confirm": "yes"})
        assert refused.status_code == 403
        with http.app_state["services"].db.unit_of_work() as uow:
            assert uow.users.get(user.id) is not None


def _csrf(http) -> str:
    from tests.accounts_helpers import csrf

    return csrf(http.get("/account").text)
