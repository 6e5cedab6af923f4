"""The account page over HTTP: change password, sessions and their apps, end one,
log out everywhere; every form CSRF-checked, a forged cookie gets nothing."""

from __future__ import annotations

import re
from datetime import timedelta

from authserver.audit import AuditEvent
from authserver.clock import to_datetime
from tests.accounts_helpers import browser, csrf, login, outbox
from tests.helpers import introspect, password_grant, refresh_grant

NEW = "another good passphrase"


def _post(http, action, **fields):
    token = csrf(http.get("/account").text)
    return http.post(action, data={"csrf_token": token, **fields}, follow_redirects=False)


def _change(http, current, new, confirm=None):
    return _post(
        http,
        "/account/password",
        current_password=current,
        new_password=new,
        new_password_confirm=new if confirm is None else confirm,
    )


def _session_ids(html):
    return re.findall(r'name="session_id" value="([^"]+)"', html)


def test_requires_a_login_session(client):
    r = client.get("/account", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/account"


def test_a_forged_session_cookie_gets_nothing(client, factory, services):
    user = factory.user()
    client.cookies.set("session", "forged-" + "x" * 40)
    assert client.get("/account", follow_redirects=False).status_code == 303
    token = csrf(client.get("/login").text)
    for action in ("/account/logout-all", "/account/password", "/account/sessions/end"):
        r = client.post(action, data={"csrf_token": token}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert login(client, user.email, user.password).status_code == 303


def test_lists_sessions_with_their_apps(client, factory, settings):
    user = factory.user()
    app = factory.password_client(name="Billing app")
    login(client, user.email, user.password)
    with browser(settings, ip="192.0.2.44") as phone:
        login(phone, user.email, user.password)
        page = client.get("/account").text
        assert user.email in page
        assert len(_session_ids(page)) == 2
        assert "192.0.2.44" in page and "this browser" in page
        assert "Billing app" not in page
        # An app signed in with the password grant (no browser session) is listed too.
        assert password_grant(client, app, user).status_code == 200
        assert "signed in with your password directly: Billing app" in client.get("/account").text


def test_an_apps_tokens_show_under_the_session_they_came_from(client, factory, services):
    user = factory.user()
    app = factory.password_client(name="Photo app")
    login(client, user.email, user.password)
    now = services.clock.now()
    with services.db.unit_of_work() as uow:
        (session,) = uow.login_sessions.list_active(user.id, to_datetime(now))
        # A family bound to the browser's session, as a code exchange after /authorize makes.
        uow.tokens.create_family(
            client_id=app.client_id,
            user_id=user.id,
            scope="api:read",
            auth_time=to_datetime(now),
            now=to_datetime(now),
            lifetime=timedelta(days=1),
            login_session_id=session.id,
        )
    page = client.get("/account").text
    row = page[page.index("<tbody>") : page.index("</tbody>")]
    assert "Photo app" in row and "this browser" in row


def test_end_one_session(client, factory, settings, services):
    user = factory.user()
    login(client, user.email, user.password)
    with browser(settings, ip="192.0.2.45") as other:
        login(other, user.email, user.password)
        mine = csrf(client.get("/account").text)
        ids = _session_ids(client.get("/account").text)
        page = client.get("/account").text
        current_id = re.search(
            r'value="([^"]+)">\s*<button type="submit" class="secondary">Sign out', page
        ).group(1)
        other_id = next(i for i in ids if i != current_id)
        r = client.post(
            "/account/sessions/end",
            data={"csrf_token": mine, "session_id": other_id},
            follow_redirects=False,
        )
        assert r.headers["location"] == "/account?notice=session_ended"
        assert other.get("/account", follow_redirects=False).status_code == 303
        assert client.get("/account", follow_redirects=False).status_code == 200
        # Someone else's session id is not ours to end.
        login(other, user.email, user.password)
        stranger = factory.user()
        with browser(settings, ip="192.0.2.46") as third:
            login(third, stranger.email, stranger.password)
            their_id = _session_ids(third.get("/account").text)[0]
        r = _post(client, "/account/sessions/end", session_id=their_id)
        assert r.headers["location"] == "/account"
        # Ending our own current session signs this browser out.
        r = _post(client, "/account/sessions/end", session_id=current_id)
        assert r.headers["location"] == "/login?notice=logged_out"
        assert client.get("/account", follow_redirects=False).status_code == 303
    with services.db.unit_of_work() as uow:
        events = [e for e in uow.audit.query(user_id=user.id, event=str(AuditEvent.SESSIONS_ENDED))]
    assert len(events) == 2 and all(e.details["scope"] == "one" for e in events)


def test_log_out_everywhere(client, factory, settings, services):
    user = factory.user()
    app = factory.password_client()
    rs = factory.resource_server()
    tokens = password_grant(client, app, user).json()
    login(client, user.email, user.password)
    with browser(settings, ip="192.0.2.50") as other:
        login(other, user.email, user.password)
        r = _post(client, "/account/logout-all")
        assert r.status_code == 303 and r.headers["location"] == "/login?notice=logged_out"
        assert "You have been signed out" in client.get(r.headers["location"]).text
        assert other.get("/account", follow_redirects=False).status_code == 303
    assert client.get("/account", follow_redirects=False).status_code == 303
    assert refresh_grant(client, app, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert introspect(client, rs, tokens["access_token"]) == {"active": False}
    with services.db.unit_of_work() as uow:
        assert uow.users.get(user.id).tokens_valid_after > 0
        (event,) = uow.audit.query(user_id=user.id, event=str(AuditEvent.SESSIONS_ENDED))
    assert event.details["scope"] == "all" and event.details["sessions_ended"] == 2


def test_change_password(client, factory, settings, services):
    user = factory.user()
    app = factory.password_client()
    tokens = password_grant(client, app, user).json()
    login(client, user.email, user.password)
    with browser(settings, ip="192.0.2.60") as other:
        login(other, user.email, user.password)
        r = _change(client, user.password, NEW)
        assert r.status_code == 303 and r.headers["location"] == "/account?notice=password_changed"
        # This browser stays signed in (with a new session); every other one is out.
        assert "Your password was changed" in client.get(r.headers["location"]).text
        assert other.get("/account", follow_redirects=False).status_code == 303
    assert refresh_grant(client, app, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    with browser(settings) as fresh:
        assert login(fresh, user.email, user.password).status_code == 401
        assert login(fresh, user.email, NEW).status_code == 303
    (message,) = outbox(settings)
    assert message["Subject"] == "Your password was changed" and message["To"] == user.email
    with services.db.unit_of_work() as uow:
        (event,) = uow.audit.query(user_id=user.id, event=str(AuditEvent.PASSWORD_CHANGED))
    assert event.details["sessions_ended"] == 2


def test_change_password_refusals_keep_everything(client, factory, settings, services):
    user = factory.user()
    login(client, user.email, user.password)
    cases = [
        ("wrong current password", NEW, None, "current password is not correct"),
        (user.password, "short", None, "at least 8"),
        (user.password, "iloveyou123", None, "too common"),
        (user.password, user.email, None, "e-mail address"),
        (user.password, NEW, "different", "differ"),
        (user.password, user.password, None, "differs from the current one"),
    ]
    for current, new, confirm, message in cases:
        r = _change(client, current, new, confirm)
        assert r.status_code == 400, (current, new)
        assert message in r.text
        # Passwords are never echoed (the e-mail is on the page anyway).
        assert current not in r.text and (new == user.email or new not in r.text)
    assert client.get("/account", follow_redirects=False).status_code == 200
    assert outbox(settings) == []
    with browser(settings) as fresh:
        assert login(fresh, user.email, user.password).status_code == 303
    with services.db.unit_of_work() as uow:
        failed = uow.audit.query(user_id=user.id, event=str(AuditEvent.LOGIN_FAILED))
    assert [e.details["purpose"] for e in failed] == ["change_password"]


def test_change_password_is_throttled(make_settings, factory):
    settings = make_settings(throttle_account_failures=2)
    user = factory.user()
    with browser(settings) as http:
        login(http, user.email, user.password)
        assert _change(http, "wrong one", NEW).status_code == 400
        assert _change(http, "wrong two", NEW).status_code == 400
        r = _change(http, user.password, NEW)
        assert r.status_code == 429 and "Too many attempts" in r.text
        assert int(r.headers["retry-after"]) >= 1


def test_csrf_less_posts_change_nothing(client, factory, services):
    user = factory.user()
    login(client, user.email, user.password)
    for action, data in (
        ("/account/logout-all", {"confirm": "yes"}),
        ("/account/password", {"current_password": user.password, "new_password": NEW}),
        ("/account/sessions/end", {"session_id": _session_ids(client.get("/account").text)[0]}),
    ):
        r = client.post(action, data=data, follow_redirects=False)
        assert r.status_code == 403, action
    assert client.get("/account", follow_redirects=False).status_code == 200
    with services.db.unit_of_work() as uow:
        assert uow.users.get(user.id).tokens_valid_after == 0
