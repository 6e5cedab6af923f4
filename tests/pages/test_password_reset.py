"""The forgotten-password pages over HTTP: /password/forgot and /password/reset."""

from __future__ import annotations

import secrets
import time
from urllib.parse import urlsplit

import jinja2
import pytest

from authserver.accounts import verification
from authserver.audit import AuditEvent
from authserver.hashing import secret_hash
from authserver.mfa import factors
from tests.accounts_helpers import (
    FakeClock,
    browser,
    csrf,
    login,
    outbox,
    reset_link,
    submit,
    text_of,
)
from tests.helpers import introspect, password_grant, refresh_grant
from tests.mfa.helpers import enrol_totp

NEW = "a brand new passphrase"


def _forgot(http, address):
    return submit(http, "/password/forgot", email=address)


def _open_link(http, link):
    """Follow the e-mailed link as a browser does and press Continue; returns the reset
    form page (or the page refusing the link)."""
    parts = urlsplit(link)
    first = http.get(f"{parts.path}?{parts.query}", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/password/reset"
    offer = http.get("/password/reset")
    if offer.status_code != 200:
        return offer
    assert 'action="/password/reset/accept"' in offer.text and 'name="password"' not in offer.text
    accepted = http.post(
        "/password/reset/accept", data={"csrf_token": csrf(offer.text)}, follow_redirects=False
    )
    assert accepted.status_code == 303 and accepted.headers["location"] == "/password/reset"
    return http.get("/password/reset")


def _set_password(http, password, confirm=None):
    page = http.get("/password/reset")
    return http.post(
        "/password/reset",
        data={
            "csrf_token": csrf(page.text),
            "password": password,
            "password_confirm": password if confirm is None else confirm,
        },
        follow_redirects=False,
    )


def test_known_and_unknown_addresses_get_the_same_answer(client, factory, settings):
    user = factory.user(email="erin@example.com")
    known = _forgot(client, "ERIN@example.com")
    unknown = _forgot(client, "nobody@example.com")
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace("ERIN@example.com", "X") == unknown.text.replace(
        "nobody@example.com", "X"
    )
    messages = outbox(settings)
    assert len(messages) == 1
    assert messages[0]["To"] == user.email
    assert messages[0]["Subject"] == "Reset your password"
    assert reset_link(messages[0]).startswith("http://localhost:8000/password/reset?token=")
    html = messages[0].get_body(("html",)).get_content()
    assert 'href="http://localhost:8000/password/reset?token=' in html


def test_known_and_unknown_addresses_do_the_same_work(client, factory, settings, monkeypatch):
    """No timing assertion: count the work instead. Both mint a token and render the
    page and both parts of the reset message; only the known one is delivered, after
    the answer."""
    factory.user(email="frank@example.com")
    client.get("/password/forgot")
    counts = {"render": 0, "token": 0}
    render, token_urlsafe = jinja2.Template.render, secrets.token_urlsafe

    def counting_render(self, *args, **kwargs):
        counts["render"] += 1
        return render(self, *args, **kwargs)

    def counting_token(*args, **kwargs):
        counts["token"] += 1
        return token_urlsafe(*args, **kwargs)

    monkeypatch.setattr(jinja2.Template, "render", counting_render)
    monkeypatch.setattr(secrets, "token_urlsafe", counting_token)
    work = {}
    for address in ("frank@example.com", "ghost@example.com"):
        counts.update(render=0, token=0)
        assert _forgot(client, address).status_code == 200
        work[address] = dict(counts)
    assert work["frank@example.com"] == work["ghost@example.com"]
    assert work["ghost@example.com"]["render"] >= 3  # the page + text and HTML parts
    assert len(outbox(settings)) == 1


def test_the_token_is_stored_hashed_and_the_link_resets_once(client, factory, settings, services):
    user = factory.user(email="gina@example.com")
    _forgot(client, user.email)
    link = reset_link(outbox(settings)[0])
    token = link.split("token=")[1]
    assert len(token) >= 43  # 256 bits, base64url
    with services.db.unit_of_work() as uow:
        stored = uow.reset_tokens.get(secret_hash(token))
        assert stored is not None and stored.user_id == user.id
        assert (stored.expires_at - stored.created_at).total_seconds() == 3600
    form = _open_link(client, link)
    assert form.status_code == 200 and "gina@example.com" in form.text
    assert token not in form.text
    done = _set_password(client, NEW)
    assert done.status_code == 303
    assert done.headers["location"] == "/login?notice=password_reset"
    assert "Your password was changed" in client.get(done.headers["location"]).text
    assert login(client, user.email, user.password).status_code == 401
    assert login(client, user.email, NEW).status_code == 303
    changed = outbox(settings)[-1]
    assert changed["Subject"] == "Your password was changed" and changed["To"] == user.email
    # The same link again: refused, with a way to ask for a new one.
    again = _open_link(client, link)
    assert again.status_code == 400
    assert "invalid, has expired or was already used" in again.text
    assert 'href="/password/forgot"' in again.text


def test_a_reset_signs_out_every_session_and_app(
    client, factory, settings, services, make_settings
):
    user = factory.user(email="hal@example.com")
    app = factory.password_client()
    rs = factory.resource_server(scope="api:read")
    tokens = password_grant(client, app, user).json()
    with browser(settings, ip="192.0.2.1") as elsewhere:
        assert login(elsewhere, user.email, user.password).status_code == 303
        assert elsewhere.get("/account", follow_redirects=False).status_code == 200
        _forgot(client, user.email)
        _open_link(client, reset_link(outbox(settings)[0]))
        assert _set_password(client, NEW).status_code == 303
        assert elsewhere.get("/account", follow_redirects=False).status_code == 303
    assert refresh_grant(client, app, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert introspect(client, rs, tokens["access_token"]) == {"active": False}
    with services.db.unit_of_work() as uow:
        events = [e.event for e in uow.audit.query(user_id=user.id)]
    assert str(AuditEvent.RESET_REQUESTED) in events and str(AuditEvent.RESET_DONE) in events


def test_the_reset_page_applies_the_policy_and_keeps_the_link(client, factory, settings):
    user = factory.user(email="ivy@example.com")
    _forgot(client, user.email)
    _open_link(client, reset_link(outbox(settings)[0]))
    for password, message in (
        ("short", "at least 8"),
        ("password123", "too common"),
        ("ivy@example.com", "e-mail address"),
    ):
        r = _set_password(client, password)
        assert r.status_code == 400 and message in r.text
    r = _set_password(client, NEW, confirm="something else")
    assert r.status_code == 400 and "differ" in r.text
    assert login(client, user.email, user.password).status_code == 303
    assert _set_password(client, NEW).status_code == 303


def test_an_expired_link_is_refused(make_settings, factory):
    clock = FakeClock()
    settings = make_settings()
    user = factory.user(email="jay@example.com")
    with browser(settings, clock) as http:
        _forgot(http, user.email)
        link = reset_link(outbox(settings)[0])
        clock.advance(61 * 60)
        page = _open_link(http, link)
        assert page.status_code == 400 and "expired" in page.text
        token = csrf(http.get("/password/forgot").text)
        r = http.post(
            "/password/reset",
            data={"csrf_token": token, "password": NEW, "password_confirm": NEW},
        )
        assert r.status_code == 400 and "expired" in r.text
    with browser(settings, clock) as http:
        assert login(http, user.email, user.password).status_code == 303


def test_a_newer_request_voids_the_older_link(client, factory, settings):
    user = factory.user(email="kim@example.com")
    _forgot(client, user.email)
    _forgot(client, user.email)
    first, second = (reset_link(m) for m in outbox(settings))
    assert first != second
    assert _open_link(client, first).status_code == 400
    assert _open_link(client, second).status_code == 200


def test_a_link_for_a_deleted_user_is_refused(client, factory, settings, services):
    user = factory.user(email="lee@example.com")
    _forgot(client, user.email)
    link = reset_link(outbox(settings)[0])
    with services.db.unit_of_work() as uow:
        uow.session.delete(uow.users.get(user.id))
    assert _open_link(client, link).status_code == 400


def test_the_token_never_reaches_a_referer(client, factory, settings):
    user = factory.user(email="max@example.com")
    _forgot(client, user.email)
    link = reset_link(outbox(settings)[0])
    token = link.split("token=")[1]
    first = client.get(urlsplit(link).path + "?" + urlsplit(link).query, follow_redirects=False)
    # The URL with the token is answered by a redirect only: no page, no subresources.
    assert first.status_code == 303 and first.headers["location"] == "/password/reset"
    assert first.content == b""
    assert first.headers["referrer-policy"] == "no-referrer"
    cookie = first.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=1800" in cookie
    page = client.get("/password/reset")
    assert page.url.path == "/password/reset" and page.url.query == b""
    assert token not in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    page = _open_link(client, link)
    assert token not in page.text and 'name="password"' in page.text
    assert '<meta name="referrer" content="no-referrer">' in page.text


def test_opening_a_link_does_not_bind_it_to_the_browser(client, factory, settings):
    """Anyone can make a browser open a URL: a link minted for someone else's account
    (a cross-site page, an e-mail) only offers its reset. The page names the account;
    the reset form needs the CSRF-checked button, and a button POST without the CSRF
    token binds nothing."""
    user = factory.user(email="mallory@example.com")
    _forgot(client, user.email)
    parts = urlsplit(reset_link(outbox(settings)[0]))
    with browser(settings) as victim:
        victim.get(f"{parts.path}?{parts.query}")  # followed, as a cross-site link is
        offer = victim.get("/password/reset")
        assert offer.status_code == 200 and "mallory@example.com" in offer.text
        assert 'name="password"' not in offer.text
        r = victim.post("/password/reset", data={"password": NEW, "password_confirm": NEW})
        assert r.status_code == 403
        forged = victim.post("/password/reset/accept", data={"csrf_token": "forged"})
        assert forged.status_code == 403
        with_token = victim.post(
            "/password/reset",
            data={"csrf_token": csrf(offer.text), "password": NEW, "password_confirm": NEW},
        )
        assert with_token.status_code == 400 and "invalid" in with_token.text
    assert login(client, user.email, user.password).status_code == 303
    # The owner presses the button, then the form resets the password.
    assert 'name="password"' in _open_link(client, reset_link(outbox(settings)[0])).text
    assert _set_password(client, NEW).status_code == 303


def test_csrf_less_post_changes_nothing(client, factory, settings):
    user = factory.user(email="ned@example.com")
    _forgot(client, user.email)
    _open_link(client, reset_link(outbox(settings)[0]))
    r = client.post("/password/reset", data={"password": NEW, "password_confirm": NEW})
    assert r.status_code == 403
    assert login(client, user.email, user.password).status_code == 303


@pytest.mark.parametrize(
    "query", ["token=" + "A" * 5000, "token=%FF%FE", "token=", "token=a&token=b"]
)
def test_bad_links_get_a_page_not_an_error(client, query):
    r = client.get(f"/password/reset?{query}")
    assert r.status_code in (303, 400)
    page = client.get("/password/reset")
    assert page.status_code == 400 and "invalid" in page.text


def test_forgot_bad_input(client, settings):
    r = _forgot(client, "not an address")
    assert r.status_code == 400 and "not a valid e-mail address" in r.text
    r = _forgot(client, "x" * 400 + "@example.com")
    assert r.status_code == 400 and "too long" in r.text
    client.get("/password/forgot")
    assert client.post("/password/forgot", data={"email": "a@example.com"}).status_code == 403
    assert outbox(settings) == []


def test_reset_requests_are_throttled_per_address_known_or_not(make_settings, factory):
    settings = make_settings(throttle_email_hourly_resets=2)
    factory.user(email="olga@example.com")
    with browser(settings) as http:
        for address in ("olga@example.com", "nobody@example.com"):
            assert _forgot(http, address).status_code == 200
            assert _forgot(http, address.upper()).status_code == 200
            third = _forgot(http, address)
            assert third.status_code == 429
            assert "Too many attempts" in third.text and int(third.headers["retry-after"]) > 0
    assert len(outbox(settings)) == 2


def test_reset_email_text_names_the_account_and_lifetime(client, factory, settings):
    factory.user(email="pia@example.com")
    _forgot(client, "pia@example.com")
    body = text_of(outbox(settings)[0])
    assert "pia@example.com" in body and "60 minutes" in body


def test_mail_to_an_unverified_address_carries_no_name_a_stranger_typed(client, settings, services):
    """Anyone can sign up with someone else's address and a "name" of their choosing;
    the reset and password-changed e-mails to that address must not carry it until the
    address is verified."""
    bait = "Prize! Claim it at evil.example"
    fields = {"email": "quinn@example.com", "name": bait, "password": "a rather long passphrase"}
    assert (
        submit(client, "/register", password_confirm=fields["password"], **fields).status_code
        == 303
    )
    # Sign-up sent the verification mail first; it carries no name either.
    (verification_mail,) = outbox(settings)
    _forgot(client, "quinn@example.com")
    _open_link(client, reset_link(outbox(settings)[1]))
    assert _set_password(client, NEW).status_code == 303
    reset_mail, changed_mail = outbox(settings)[1:]
    for message in (verification_mail, reset_mail, changed_mail):
        assert bait not in message.as_string() and bait not in text_of(message)
        assert text_of(message).startswith("Hello,")
    with services.db.unit_of_work() as uow:
        uow.users.find_by_email("quinn@example.com").email_verified = True
    _forgot(client, "quinn@example.com")
    assert text_of(outbox(settings)[-1]).startswith(f"Hello {bait},")


def _with_authenticator_app(settings, user) -> None:
    with browser(settings, ip="192.0.2.9") as http:
        assert login(http, user.email, user.password).status_code == 303
        enrol_totp(http, time.time())


def _factors_of(services, user_id):
    with services.db.unit_of_work() as uow:
        return factors.overview(uow, user_id)


def test_a_reset_of_a_never_verified_account_drops_the_factors_set_up_before_it(
    client, factory, settings, services
):
    # Someone signs up with another person's address (never verified: they cannot read its
    # mail) and sets up an authenticator app. The owner's reset link proves the mailbox:
    # whatever was enrolled before it must not outlive the old password.
    user = factory.user(email="owner@example.com")
    _with_authenticator_app(settings, user)
    assert _factors_of(services, user.id).has_second_factor
    _forgot(client, user.email)
    _open_link(client, reset_link(outbox(settings)[-1]))
    assert _set_password(client, NEW).status_code == 303
    left = _factors_of(services, user.id)
    assert not left.has_second_factor and left.recovery_codes_left == 0
    assert login(client, user.email, NEW).headers["location"] != "/login/second-factor"
    with services.db.unit_of_work() as uow:
        (reset,) = uow.audit.query(user_id=user.id, event=str(AuditEvent.MFA_RESET))
    assert reset.details["via"] == "password_reset" and reset.details["factors_removed"] == 1


def test_a_reset_of_a_verified_account_keeps_its_second_factor(
    client, factory, settings, services
):
    user = factory.user(email="kept@example.com")
    with services.db.unit_of_work() as uow:
        verification.mark_verified(uow, services.clock, uow.users.get(user.id))
    _with_authenticator_app(settings, user)
    _forgot(client, user.email)
    _open_link(client, reset_link(outbox(settings)[-1]))
    assert _set_password(client, NEW).status_code == 303
    assert _factors_of(services, user.id).has_second_factor
