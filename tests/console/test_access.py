"""Who gets into /console: an admin whose session performed a second factor, from an
allowed network, within the console's own idle window; every form CSRF-checked; every
change audited with the acting admin. Each refusal changes nothing."""

from __future__ import annotations

import pytest

from authserver.accounts import login_sessions
from authserver.audit import AuditEvent
from tests.accounts_helpers import FakeClock, browser
from tests.console.helpers import csrf, sign_in


def _client_exists(services, client_id):
    with services.db.unit_of_work() as uow:
        return uow.clients.get(client_id) is not None


def test_without_a_session_the_console_sends_to_the_login_page(client):
    r = client.get("/console/clients", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/console/clients"


def test_a_user_without_the_admin_role_is_refused_and_changes_nothing(client, factory, services):
    app = factory.client()
    user = factory.user()
    sign_in(client, services, user.id, ("pwd", "otp"))
    r = client.get("/console", follow_redirects=False)
    assert r.status_code == 403 and "Administrators only" in r.text
    token = csrf(client.get("/login").text)
    r = client.post(
        "/console/client/delete",
        data={"csrf_token": token, "client_id": app.client_id},
        follow_redirects=False,
    )
    assert r.status_code == 403 and _client_exists(services, app.client_id)


def test_an_admin_without_a_second_factor_is_told_how_to_get_one(client, factory, services):
    admin = factory.user(role="admin")
    sign_in(client, services, admin.id, ("pwd",))
    r = client.get("/console/users", follow_redirects=False)
    assert r.status_code == 403
    assert "second factor" in r.text and 'href="/account"' in r.text
    # A federated sign-in counts only when the provider asserted MFA.
    sign_in(client, services, admin.id, ("fed",))
    assert client.get("/console", follow_redirects=False).status_code == 403
    sign_in(client, services, admin.id, ("fed", "mfa"))
    assert client.get("/console", follow_redirects=False).status_code == 200


@pytest.mark.parametrize("factor", ["otp", "hwk"])
def test_an_admin_with_a_second_factor_gets_in(client, factory, services, factor):
    admin = factory.user(role="admin")
    sign_in(client, services, admin.id, ("pwd", factor))
    r = client.get("/console")
    assert r.status_code == 200 and "Dashboard" in r.text and admin.email in r.text
    assert "console" in r.cookies and r.headers["cache-control"] == "no-store"
    assert "unsafe-inline" not in r.headers["content-security-policy"]


def test_the_console_session_ends_after_its_own_idle_time(settings, factory, services):
    clock = FakeClock()
    ttl = settings.console_idle_ttl
    assert ttl < settings.session_idle_ttl
    admin = factory.user(role="admin")
    with browser(settings, clock) as http:
        sign_in(http, services, admin.id, clock=clock)
        assert http.get("/console").status_code == 200
        # Kept alive by use, past the window counted from the sign-in.
        for _ in range(3):
            clock.advance(ttl - 5)
            assert http.get("/console/keys").status_code == 200
        clock.advance(ttl + 1)
        r = http.get("/console/keys", follow_redirects=False)
        assert r.status_code == 303
        assert r.headers["location"] == "/login?next=/console/keys&notice=console_expired"
        assert "left unused" in http.get(r.headers["location"]).text
        # The login session itself lives on: only the console asks again.
        assert http.get("/account", follow_redirects=False).status_code == 200
        # A fresh sign-in with the second factor opens it again.
        sign_in(http, services, admin.id, clock=clock)
        assert http.get("/console/keys").status_code == 200


def test_a_console_cookie_is_worth_nothing_with_another_session(settings, factory, services):
    clock = FakeClock()
    admin = factory.user(role="admin")
    with browser(settings, clock) as http:
        sign_in(http, services, admin.id, clock=clock)
        http.get("/console")
        console_cookie = http.cookies["console"]
        clock.advance(settings.console_idle_ttl + 1)
        # An old session (second factor long ago) with the fresh cookie of another one.
        with services.db.unit_of_work() as uow:
            user = uow.users.get(admin.id)
            _, old_secret = login_sessions.start(
                uow,
                FakeClock(clock.t - settings.console_idle_ttl - 5),
                settings,
                user,
                methods=("pwd", "otp"),
            )
        http.cookies.clear()
        http.cookies.set("session", old_secret)
        http.cookies.set("console", console_cookie)
        assert http.get("/console", follow_redirects=False).status_code == 303
        http.cookies.set("console", "9" * 12 + "." + "0" * 64)
        assert http.get("/console", follow_redirects=False).status_code == 303


def test_a_disabled_admin_is_out_at_once(client, factory, services):
    admin = factory.user(role="admin")
    sign_in(client, services, admin.id)
    assert client.get("/console").status_code == 200
    with services.db.unit_of_work() as uow:
        from authserver.accounts import management

        management.set_disabled(uow, services.clock, admin.id, True)
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_forms_need_the_csrf_token(client, factory, services):
    app = factory.client()
    admin = factory.user(role="admin")
    sign_in(client, services, admin.id)
    page = client.get(f"/console/client/delete?id={app.client_id}")
    assert page.status_code == 200 and _client_exists(services, app.client_id)
    for token in (None, "forged" + "0" * 58, csrf(page.text) + "x"):
        data = {"client_id": app.client_id, **({"csrf_token": token} if token else {})}
        r = client.post("/console/client/delete", data=data, follow_redirects=False)
        assert r.status_code == 403 and "did not come from this site" in r.text
        assert _client_exists(services, app.client_id)
    r = client.post(
        "/console/client/delete",
        data={"client_id": app.client_id, "csrf_token": csrf(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303 and not _client_exists(services, app.client_id)


def test_changes_are_audited_with_the_acting_admin(client, factory, services):
    app = factory.client()
    admin = factory.user(role="admin")
    sign_in(client, services, admin.id)
    page = client.get(f"/console/client?id={app.client_id}")
    r = client.post(
        "/console/client/rotate",
        data={"client_id": app.client_id, "csrf_token": csrf(page.text)},
    )
    assert r.status_code == 200
    with services.db.unit_of_work() as uow:
        (event,) = uow.audit.query(event=str(AuditEvent.CLIENT_CHANGED), client_id=app.client_id)
        assert event.details["actor"] == admin.id and event.details["via"] == "console"
        assert event.details["change"] == "secret_rotated" and event.ip


def test_the_network_allow_list(make_settings, factory, services):
    settings = make_settings(console_allowed_networks="10.0.0.0/8, 2001:db8::/32")
    admin = factory.user(role="admin")
    with browser(settings, ip="198.51.100.7") as outside:
        sign_in(outside, services, admin.id)
        r = outside.get("/console", follow_redirects=False)
        assert r.status_code == 403 and "network" in r.text
        assert outside.get("/account", follow_redirects=False).status_code == 200
    with browser(settings, ip="10.1.2.3") as inside:
        sign_in(inside, services, admin.id)
        assert inside.get("/console").status_code == 200
