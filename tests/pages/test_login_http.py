"""The hosted login page over HTTP: CSRF, generic failures, the session cookie."""

from __future__ import annotations

import re

from authserver.hashing import secret_hash


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_login_sets_an_httponly_lax_session_cookie_and_redirects(client, factory, services):
    user = factory.user()
    page = client.get("/login?next=/authorize%3Fx%3D1")
    assert page.status_code == 200
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    r = client.post(
        "/login",
        data={
            "csrf_token": _csrf(page.text),
            "email": user.email,
            "password": user.password,
            "next": "/authorize?x=1",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/authorize?x=1"
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    secret = cookie.split(";")[0].split("=", 1)[1]
    with services.db.unit_of_work() as uow:
        stored = uow.login_sessions.find_by_secret_hash(secret_hash(secret))
        assert stored is not None and stored.user_id == user.id


def test_wrong_password_and_unknown_email_get_the_same_page(client, factory):
    user = factory.user()
    page = client.get("/login")
    token = _csrf(page.text)
    wrong = client.post(
        "/login", data={"csrf_token": token, "email": user.email, "password": "nope-nope"}
    )
    unknown = client.post(
        "/login", data={"csrf_token": token, "email": "ghost@example.com", "password": "nope-nope"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert "Incorrect e-mail or password." in wrong.text
    assert "Incorrect e-mail or password." in unknown.text
    assert "nope-nope" not in wrong.text
    assert "session=" not in wrong.headers.get("set-cookie", "")


def test_post_without_csrf_token_is_refused(client, factory):
    user = factory.user()
    client.get("/login")
    r = client.post("/login", data={"email": user.email, "password": user.password})
    assert r.status_code == 403
    assert "session=" not in r.headers.get("set-cookie", "")


def test_csrf_token_from_another_browser_is_refused(client, factory, settings):
    from starlette.testclient import TestClient

    from authserver.app import create_app

    user = factory.user()
    token = _csrf(client.get("/login").text)
    with TestClient(create_app(settings), base_url=settings.issuer) as other:
        other.get("/login")  # has its own csrf cookie
        r = other.post(
            "/login", data={"csrf_token": token, "email": user.email, "password": user.password}
        )
    assert r.status_code == 403


def test_next_never_leaves_the_site(client, factory):
    user = factory.user()
    token = _csrf(client.get("/login").text)
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        r = client.post(
            "/login",
            data={
                "csrf_token": token,
                "email": user.email,
                "password": user.password,
                "next": evil,
            },
            follow_redirects=False,
        )
        assert r.status_code == 303
        assert r.headers["location"] == "/account"
