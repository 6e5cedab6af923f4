"""Error states with a way forward: field errors tied to their inputs, protocol errors as
sentences, the throttled page, and the landing page at /."""

from __future__ import annotations

import re

from tests.accounts_helpers import browser, login, submit
from tests.oidc import REDIRECT, Flow


def _input(html: str, field_id: str) -> str:
    match = re.search(rf'<input id="{field_id}"[^>]*>', html)
    assert match, field_id
    return match.group(0)


def test_field_errors_point_at_their_message_and_take_the_focus(client, factory):
    user = factory.user()
    failed = login(client, user.email, "not the password")
    assert failed.status_code == 401
    assert 'id="form-error" role="alert"' in failed.text
    password = _input(failed.text, "password")
    assert 'aria-invalid="true"' in password and 'aria-describedby="form-error"' in password
    assert "autofocus" in password and "autofocus" not in _input(failed.text, "email")

    fresh = client.get("/login")
    assert "aria-invalid" not in fresh.text and "autofocus" in _input(fresh.text, "email")

    bad = submit(
        client,
        "/register",
        email="nope",
        password="a rather long passphrase",
        password_confirm="a rather long passphrase",
    )
    email = _input(bad.text, "email")
    assert 'aria-invalid="true"' in email and "autofocus" in email
    assert "aria-invalid" not in _input(bad.text, "password")
    assert 'aria-describedby="password-hint"' in _input(bad.text, "password")

    short = submit(
        client, "/register", email="w@example.com", password="short", password_confirm="short"
    )
    field = _input(short.text, "password")
    assert 'aria-describedby="form-error password-hint"' in field and "autofocus" in field

    login(client, user.email, user.password)
    wrong = submit(
        client,
        "/account",
        "/account/password",
        current_password="wrong",
        new_password="another long passphrase",
        new_password_confirm="another long passphrase",
    )
    current = _input(wrong.text, "current_password")
    assert 'aria-describedby="password-error"' in current and "autofocus" in current
    assert 'id="password-error"' in wrong.text


def test_protocol_errors_are_sentences_with_the_code_in_details(client, factory):
    unknown = client.get("/authorize?response_type=code&client_id=nobody&redirect_uri=" + REDIRECT)
    assert unknown.status_code == 400
    assert "is not registered with this server" in unknown.text
    assert re.search(r'class="details">Details: <code>invalid_client', unknown.text)

    app = factory.client(
        grant_types=["authorization_code"], scope="openid", redirect_uris=[REDIRECT]
    )
    elsewhere = Flow(client, app).start(redirect_uri="https://evil.example/cb")
    assert elsewhere.status_code == 400
    assert "an address it has not registered" in elsewhere.text
    assert "evil.example" not in elsewhere.headers.get("location", "")


def test_the_throttled_page_says_when_and_offers_a_reset(make_settings, factory):
    settings = make_settings(throttle_account_failures=2)
    user = factory.user()
    with browser(settings) as http:
        for _ in range(2):
            login(http, user.email, "wrong")
        throttled = login(http, user.email, user.password)
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) > 0
    assert re.search(r"wait about \d+ minutes?", throttled.text)
    assert 'href="/password/forgot"' in throttled.text and 'href="/login"' in throttled.text


def test_landing_page_names_the_product_and_the_ways_in(make_settings):
    settings = make_settings(brand_name="Example ID")
    with browser(settings) as http:
        r = http.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "Welcome to Example ID" in r.text
    for href in ("/login?next=/account", "/account", "/register", "/password/forgot"):
        assert f'href="{href}"' in r.text
    assert settings.issuer not in r.text.replace('href="' + settings.issuer, "")
