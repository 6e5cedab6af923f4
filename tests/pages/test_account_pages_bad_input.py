"""Bad input on every account form: a readable page, never a 500, nothing changed."""

from __future__ import annotations

import pytest

from tests.accounts_helpers import csrf, login

FORMS = [
    "/register",
    "/password/forgot",
    "/password/reset",
    "/account/password",
    "/account/sessions/end",
    "/account/logout-all",
]


@pytest.mark.parametrize("action", FORMS)
def test_non_utf8_over_long_and_odd_bodies(client, factory, services, action):
    user = factory.user()
    login(client, user.email, user.password)
    token = csrf(client.get("/login").text)
    form = "application/x-www-form-urlencoded"
    cases = [
        (b"csrf_token=" + token.encode() + b"&email=%FF%FE", form, 400),
        (b"email=" + b"x" * 70_000, form, 413),
        (b"csrf_token=" + token.encode() + b"&email=a&email=b", form, 400),
        (b"<xml/>", "text/xml", 400),
    ]
    # A CSRF token that is not ASCII: refused like any forged one.
    forged = b"csrf_token=%C3%A9" + token.encode()[2:] + b"&email=a%40example.com"
    cases.append((forged, form, 403))
    for body, content_type, status in cases:
        r = client.post(action, content=body, headers={"content-type": content_type})
        assert r.status_code == status, (action, body[:40])
        assert "text/html" in r.headers["content-type"]
    with services.db.unit_of_work() as uow:
        assert uow.users.count() == 1
        assert uow.users.get(user.id).tokens_valid_after == 0
    assert client.get("/account", follow_redirects=False).status_code == 200
