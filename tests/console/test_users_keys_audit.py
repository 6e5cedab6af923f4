"""Users, keys and the audit log in the console, and the token preview, over HTTP."""

from __future__ import annotations

import csv
import io
import json

import pytest

from authserver.audit import AuditEvent
from authserver.clock import to_datetime
from tests.accounts_helpers import login
from tests.console.helpers import another_browser, csrf, post, sign_in
from tests.helpers import claims, password_grant
from tests.oidc import REDIRECT, Flow


@pytest.fixture
def admin(client, factory, services):
    admin = factory.user(role="admin")
    sign_in(client, services, admin.id)
    return admin


def _live_sessions(services, user_id):
    with services.db.unit_of_work() as uow:
        now = to_datetime(services.clock.now())
        return [s.id for s in uow.login_sessions.list_active(user_id, now)]


def test_users_search_detail_sessions_and_roles(client, admin, factory, services, settings):
    app = factory.password_client(name="Mail <app>")
    user = factory.user(email="jo@example.com")
    one = sign_in(another_browser(client), services, user.id)
    two = sign_in(another_browser(client), services, user.id)
    token = password_grant(client, app, user).json()["access_token"]
    found = client.get("/console/users?q=JO%40").text
    assert "1 user<" in found and f"/console/users/{user.id}" in found
    page = client.get(f"/console/users/{user.id}").text
    assert page.count('name="session_id"') == 2 and "Mail &lt;app&gt;" in page
    r = post(
        client,
        f"/console/users/{user.id}",
        f"/console/users/{user.id}/sessions/end",
        session_id=one,
    )
    assert r.status_code == 303 and _live_sessions(services, user.id) == [two]
    r = post(
        client,
        f"/console/users/{user.id}",
        f"/console/users/{user.id}/sessions/end",
        session_id=admin.id,
    )
    assert r.status_code == 404
    r = post(
        client, f"/console/users/{user.id}", f"/console/users/{user.id}/roles", role_admin="on"
    )
    assert r.status_code == 303
    with services.db.unit_of_work() as uow:
        assert sorted(uow.users.get(user.id).roles) == ["admin", "user"]
    assert _live_sessions(services, user.id) == []  # a role change ends them
    assert client.post("/introspect", data={"token": token}, auth=app.basic_auth).json() == {
        "active": False
    }
    events = client.get(f"/console/users/{user.id}").text
    assert "user.changed" in events and "sessions.ended" in events


def test_disable_enable_and_not_oneself(client, admin, factory, services):
    user = factory.user()
    r = post(
        client, f"/console/users/{user.id}", f"/console/users/{user.id}/disabled", disabled="true"
    )
    assert r.status_code == 303
    assert login(another_browser(client), user.email, user.password).status_code == 401
    post(
        client, f"/console/users/{user.id}", f"/console/users/{user.id}/disabled", disabled="false"
    )
    with services.db.unit_of_work() as uow:
        assert uow.users.get(user.id).disabled_at is None
    own = client.get(f"/console/users/{admin.id}").text
    assert "cannot be disabled here" in own
    r = client.post(
        f"/console/users/{admin.id}/disabled", data={"disabled": "true", "csrf_token": csrf(own)}
    )
    assert r.status_code == 409
    with services.db.unit_of_work() as uow:
        assert uow.users.get(admin.id).disabled_at is None


def test_keys_schedule_rotate_and_retire(client, admin, services):
    page = client.get("/console/keys").text
    assert page.count("<tr>") == 2 and ">active<" in page
    r = post(client, "/console/keys", "/console/keys/rotate")
    assert r.status_code == 303
    page = client.get(r.headers["location"]).text
    assert ">next<" in page and "publish-ahead" in page
    kid = page.split('name="kid" value="')[1].split('"')[0]
    r = post(client, "/console/keys", "/console/keys/retire", kid=kid)
    assert r.status_code == 303 and ">next<" not in client.get("/console/keys").text
    r = post(client, "/console/keys", "/console/keys/rotate", immediately="on")
    page = client.get(r.headers["location"]).text
    assert ">retiring<" in page and "signs from now on" in page
    with services.db.unit_of_work() as uow:
        kinds = [e.event for e in uow.audit.query(event=str(AuditEvent.KEY_ROTATED))]
        assert len(kinds) == 2


def test_audit_filters_pages_and_exports(client, admin, factory, services):
    user = factory.user()
    other = another_browser(client)
    other.headers["User-Agent"] = '=HYPERLINK("http://evil.example")'
    for _ in range(3):
        login(other, user.email, "wrong")
    page = client.get(f"/console/audit?user_id={user.id}&event=login.failed").text
    assert page.count("<code>login.failed</code>") == 3
    assert (
        "<code>login.failed</code>"
        not in client.get(f"/console/audit?user_id={user.id}&event=login.ok").text
    )
    r = client.get("/console/audit?since=2999-01-01T00:00")
    assert r.status_code == 200 and "No events." in r.text
    r = client.get("/console/audit?since=yesterday")
    assert r.status_code == 400 and "since must be an ISO 8601 time" in r.text
    rows = list(csv.DictReader(io.StringIO(client.get("/console/audit/export?format=csv").text)))
    failed = [r for r in rows if r["event"] == "login.failed"]
    assert len(failed) == 3 and failed[0]["user_agent"] == "'" + other.headers["User-Agent"]
    export = client.get(f"/console/audit/export?format=jsonl&user_id={user.id}")
    assert export.headers["content-disposition"] == 'attachment; filename="audit.jsonl"'
    lines = [json.loads(line) for line in export.text.splitlines()]
    assert [e["event"] for e in lines] == ["login.failed"] * 3
    assert lines[0]["user_agent"] == other.headers["User-Agent"]


def test_preview_equals_the_claims_of_real_tokens_and_stores_nothing(
    client, admin, factory, services, settings
):
    app = factory.client(
        grant_types=["authorization_code"],
        redirect_uris=[REDIRECT],
        scope="openid email profile roles api:read",
        first_party=True,
    )
    user = factory.user()  # not an admin: MFA is required of admins by default

    def counts():
        with services.db.unit_of_work() as uow:
            s = uow.session
            from sqlalchemy import text

            return [
                s.execute(text(f"select count(*) from {t}")).scalar()
                for t in (
                    "token_families",
                    "access_tokens",
                    "refresh_tokens",
                    "authorization_codes",
                    "audit_events",
                )
            ]

    before = counts()
    r = client.get(
        "/console/preview",
        params={
            "client_id": app.client_id,
            "user": user.email,
            "scope": "openid email roles api:read",
        },
    )
    assert r.status_code == 200, r.text
    assert counts() == before
    shown = {
        name: json.loads(
            __import__("html").unescape(r.text.split(f'id="preview-{name}">')[1].split("</pre>")[0])
        )
        for name in ("id-token", "access-token", "userinfo")
    }
    browser = another_browser(client)
    flow = Flow(browser, app, scope="openid email roles api:read")
    tokens = flow.exchange(flow.authorize(user)["code"]).json()
    volatile = {"iat", "exp", "jti", "auth_time", "nonce", "sid", "at_hash"}
    for name, real in (
        ("id-token", claims(tokens["id_token"])),
        ("access-token", claims(tokens["access_token"])),
    ):
        assert {k: v for k, v in shown[name].items() if k not in volatile} == {
            k: v for k, v in real.items() if k not in volatile
        }, name
        assert set(real) - set(shown[name]) <= {"nonce", "sid"}
    info = browser.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert shown["userinfo"] == info.json()
    bad = client.get(
        "/console/preview",
        params={"client_id": app.client_id, "user": user.email, "scope": "openid offline_access"},
    )
    assert bad.status_code == 400 and "invalid_scope" in bad.text
