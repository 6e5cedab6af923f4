"""Verified e-mail over HTTP: the sign-up link, `email_verified` in tokens and userinfo,
the sign-in settings, resend, admin verification and changing the address."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from authserver.hashing import secret_hash
from authserver.storage.models import EmailVerificationToken
from tests.accounts_helpers import FakeClock, browser, csrf, login, outbox, submit, text_of
from tests.helpers import claims, password_grant
from tests.oidc import REDIRECT, Flow, hidden_fields, query_of

GOOD = "a rather long passphrase"
LINK = re.compile(r"(https?://\S+/email/verify\?token=[A-Za-z0-9_\-]+)")


def _link(message) -> str:
    match = LINK.search(text_of(message))
    assert match, text_of(message)
    parts = urlsplit(match.group(1))
    return f"{parts.path}?{parts.query}"


def _confirm(http, link):
    """Open the e-mailed link (a page with a button) and press the button."""
    page = http.get(link)
    assert page.status_code == 200, page.text
    return http.post("/email/verify", data=hidden_fields(page.text), follow_redirects=False)


def _web_client(factory, **spec):
    return factory.client(
        grant_types=["authorization_code"],
        scope="openid email",
        redirect_uris=[REDIRECT],
        first_party=True,
        name="Photo App",
        **spec,
    )


def _sign_up_from(http, flow, email):
    """From the app's authorization request: the login page's "Create an account" link
    carries the request; the form signs up and returns to it."""
    to_login = flow.start()
    login_page = http.get(to_login.headers["location"])
    href = re.search(r'href="(/register\?next=[^"]+)"', login_page.text).group(1)
    register = http.get(href.replace("&amp;", "&"))
    fields = {**hidden_fields(register.text), "email": email, "password": GOOD}
    fields["password_confirm"] = GOOD
    return http.post("/register", data=fields, follow_redirects=False)


def test_sign_up_from_an_app_that_requires_it_verify_and_back_in_the_app(client, factory, settings):
    app = _web_client(factory, require_verified_email=True)
    flow = Flow(client, app)
    r = _sign_up_from(client, flow, "nina@example.com")
    assert r.status_code == 303 and r.headers["location"].startswith("/authorize?")
    back = client.get(r.headers["location"], follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"].startswith("/email/verify?next=")
    page = client.get(back.headers["location"])
    assert "Photo App" in page.text and "needs a confirmed e-mail address" in page.text
    # prompt=none cannot show that page: OIDC Core §3.1.2.6 interaction_required.
    silent = flow.start(prompt="none")
    assert query_of(silent.headers["location"])["error"] == "interaction_required"

    [message] = outbox(settings)
    assert message["To"] == "nina@example.com" and "nina" not in message["Subject"]
    done = _confirm(client, _link(message))
    # Back to the pending request kept with the link, then a code at the app.
    assert done.status_code == 303 and done.headers["location"].startswith("/authorize?")
    to_app = client.get(done.headers["location"], follow_redirects=False)
    assert to_app.status_code == 302 and to_app.headers["location"].startswith(REDIRECT)


def test_email_verified_in_id_token_and_userinfo_follows_the_link(client, factory, settings):
    app = _web_client(factory)
    flow = Flow(client, app)
    r = _sign_up_from(client, flow, "olga@example.com")
    # Not required here (the default): straight back to the app, email_verified false.
    to_app = client.get(r.headers["location"], follow_redirects=False)
    code = query_of(to_app.headers["location"])["code"]
    tokens = flow.exchange(code).json()
    assert claims(tokens["id_token"])["email_verified"] is False
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert client.get("/userinfo", headers=bearer).json()["email_verified"] is False

    _confirm(client, _link(outbox(settings)[0]))
    assert client.get("/userinfo", headers=bearer).json()["email_verified"] is True
    again = flow.authorize(None)  # signed in already
    assert claims(flow.exchange(again["code"]).json()["id_token"])["email_verified"] is True


def test_links_are_single_use_hashed_expiring_and_for_their_own_account(make_settings, factory):
    clock = FakeClock()
    settings = make_settings(email_verification_ttl=3600)
    with browser(settings, clock) as http:
        submit(http, "/register", email="pia@example.com", password=GOOD, password_confirm=GOOD)
        link = _link(outbox(settings)[0])
        token = link.split("token=")[1]
        services = http.app_state["services"]
        with services.db.unit_of_work() as uow:
            rows = uow.session.query(EmailVerificationToken).all()
            assert [r.token_hash for r in rows] == [secret_hash(token)]  # never the token

        # Another account signed in here: refused, nothing verified.
        other = factory.user(email="quinn@example.com")
        with browser(settings, clock, ip="192.0.2.9") as elsewhere:
            login(elsewhere, other.email, other.password)
            page = elsewhere.get(link)
            refused = elsewhere.post("/email/verify", data=hidden_fields(page.text))
            assert refused.status_code == 400 and "another account" in refused.text

        # Expired: refused.
        clock.advance(3601)
        assert http.get(link).status_code == 400
        clock.advance(-3601)

        assert _confirm(http, link).headers["location"] == "/account?notice=email_verified"
        with services.db.unit_of_work() as uow:
            assert uow.users.find_by_email("pia@example.com").email_verified
        reused = http.get(link)
        assert reused.status_code == 400 and "already used" in reused.text
        forged = http.post(
            "/email/verify", data={"csrf_token": csrf(http.get("/login").text), "token": "x"}
        )
        assert forged.status_code == 400


def test_unverified_sign_in_setting_and_per_client_requirement(make_settings, factory):
    settings = make_settings(unverified_email_sign_in=False)
    with browser(settings) as http:
        app = factory.password_client(scope="openid email")
        user = factory.user()
        with http.app_state["services"].db.unit_of_work() as uow:
            uow.users.get(user.id).email_verified = False
        r = password_grant(http, app, user)
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"

        web = _web_client(factory)
        flow = Flow(http, web)
        after_login = flow.login(user, flow.start())
        assert after_login.headers["location"].startswith("/email/verify?next=")


def test_default_allows_unverified_but_a_client_can_require_it(client, factory):
    user = factory.user()
    with client.app_state["services"].db.unit_of_work() as uow:
        uow.users.get(user.id).email_verified = False
    lenient = factory.password_client(scope="openid email")
    token = password_grant(client, lenient, user).json()["access_token"]
    assert (
        client.get("/userinfo", headers={"Authorization": f"Bearer {token}"}).json()[
            "email_verified"
        ]
        is False
    )
    strict = factory.password_client(scope="openid email", require_verified_email=True)
    assert password_grant(client, strict, user).json()["error"] == "invalid_grant"


def test_resend_voids_the_old_link_and_is_throttled(make_settings):
    settings = make_settings(throttle_email_hourly_resets=2)
    with browser(settings) as http:
        submit(http, "/register", email="rae@example.com", password=GOOD, password_confirm=GOOD)
        first = _link(outbox(settings)[0])
        for _ in range(2):
            r = submit(http, "/email/verify", "/email/verify/resend")
            assert r.status_code == 303 and r.headers["location"] == "/email/verify?sent=1"
        assert len(outbox(settings)) == 3
        assert http.get(first).status_code == 400  # voided by the newer link
        throttled = submit(http, "/email/verify", "/email/verify/resend")
        assert throttled.status_code == 429 and "Retry-After" in throttled.headers
        assert len(outbox(settings)) == 3
        assert _confirm(http, _link(outbox(settings)[-1])).status_code == 303


def test_change_of_address_verifies_the_new_one_and_tells_the_old(client, factory, settings):
    user = factory.user(email="sam@example.com")
    taken = factory.user(email="taken@example.com")
    login(client, user.email, user.password)

    wrong = submit(
        client,
        "/account",
        "/account/email",
        new_email="new@example.com",
        current_password="wrong password",
    )
    assert wrong.status_code == 400 and 'aria-invalid="true"' in wrong.text
    assert outbox(settings) == []

    # Taken or free: the same answer; the mail explains.
    answers = [
        submit(
            client, "/account", "/account/email", new_email=address, current_password=user.password
        )
        for address in (taken.email, "new@example.com")
    ]
    assert [a.headers["location"] for a in answers] == ["/account?notice=email_change_sent"] * 2
    to_taken, to_new = outbox(settings)
    assert to_taken["To"] == taken.email and "already" in to_taken["Subject"]
    assert not LINK.search(text_of(to_taken))
    with client.app_state["services"].db.unit_of_work() as uow:
        assert uow.users.get(user.id).email == "sam@example.com"  # nothing yet

    _confirm(client, _link(to_new))
    with client.app_state["services"].db.unit_of_work() as uow:
        changed = uow.users.get(user.id)
        assert changed.email == "new@example.com" and changed.email_verified
    notice = outbox(settings)[-1]
    assert notice["To"] == "sam@example.com" and "new@example.com" in text_of(notice)
    with browser(settings, ip="192.0.2.3") as other:
        assert login(other, "new@example.com", user.password).status_code == 303


def test_admins_mark_verified_by_api(client, factory):
    app = factory.password_client(scope="openid admin")
    admin = factory.user(role="admin")
    token = password_grant(client, app, admin, scope="admin").json()["access_token"]
    user = factory.user()
    with client.app_state["services"].db.unit_of_work() as uow:
        uow.users.get(user.id).email_verified = False
    bearer = {"Authorization": f"Bearer {token}"}
    r = client.patch(f"/admin/users/{user.id}", json={"email_verified": True}, headers=bearer)
    assert r.status_code == 200 and r.json()["email_verified"] is True
