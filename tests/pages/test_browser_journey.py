"""A person in Chromium (Playwright) against a real server process, with e-mail going to
a real SMTP server: register -> log in -> forgot -> e-mail -> reset -> log in again."""

from __future__ import annotations

import os

import pytest

from tests.conftest import FAST_HASHING
from tests.servers import running_server
from tests.smtp_server import smtp_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

OLD, NEW = "my first long passphrase", "my second long passphrase"


@pytest.fixture
def server_with_mail(tmp_path, keys_dir):
    with smtp_server() as inbox:
        env = {
            "AUTHSERVER_DATABASE_URL": f"sqlite:///{tmp_path / 'auth.db'}",
            "AUTHSERVER_KEYS_DIR": str(keys_dir),
            "AUTHSERVER_SMTP_HOST": inbox.host,
            "AUTHSERVER_SMTP_PORT": str(inbox.port),
            "AUTHSERVER_SMTP_SECURITY": "none",
            "AUTHSERVER_MAIL_FROM": "Auth <auth@example.com>",
            **{f"AUTHSERVER_{k.upper()}": str(v) for k, v in FAST_HASHING.items()},
        }
        for key in [k for k in os.environ if k.startswith("AUTHSERVER_")]:
            env.setdefault(key, "")
        with running_server(env, tmp_path) as server:
            yield server, inbox


def _log_in(page, url, email, password):
    page.goto(f"{url}/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")


def test_register_login_forgot_reset_login(chromium, server_with_mail):
    server, inbox = server_with_mail
    url = server.url
    context = chromium.new_context()
    page = context.new_page()
    requests = []
    page.on("request", lambda r: requests.append((r.url, r.headers.get("referer"))))

    page.goto(f"{url}/register")
    page.fill("#email", "Walker@Example.com")
    page.fill("#name", "<i>Walker</i>")
    page.fill("#password", OLD)
    page.fill("#password_confirm", OLD)
    page.click("button[type=submit]")
    # Signed in at once; the verification link is on its way.
    page.wait_for_url(f"{url}/email/verify")
    assert "Open the link we sent to Walker@example.com" in page.inner_text("main")
    (verification,) = inbox.wait_for(1)
    assert verification["To"] == "Walker@example.com"
    assert "<i>Walker</i>" not in verification.get_body(("plain",)).get_content()

    page.goto(f"{url}/account")
    assert "Signed in as Walker@example.com (<i>Walker</i>)" in page.inner_text("main")
    page.click("text=Log out everywhere")
    page.wait_for_url(f"{url}/login?notice=logged_out")

    page.click("text=Forgot your password?")
    page.fill("#email", "walker@example.com")
    page.click("button[type=submit]")
    assert "If an account exists for walker@example.com" in page.inner_text("main")

    message = inbox.wait_for(2)[1]
    assert message["To"] == "Walker@example.com"
    html = message.get_body(("html",)).get_content()
    link = html.split('href="', 1)[1].split('"', 1)[0]
    token = link.split("token=", 1)[1]
    assert link.startswith(f"{url}/password/reset?token=")

    page.goto(link)
    page.wait_for_url(f"{url}/password/reset")
    assert token not in page.url and token not in page.content()
    assert "walker@example.com" in page.inner_text("main").lower()
    page.click("button[type=submit]")  # Continue: only now is the link this browser's
    page.wait_for_selector("#password")
    assert token not in page.url and token not in page.content()
    page.fill("#password", NEW)
    page.fill("#password_confirm", NEW)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/login?notice=password_reset")
    assert "Your password was changed" in page.inner_text("main")

    _log_in(page, url, "walker@example.com", OLD)
    assert "Incorrect e-mail or password." in page.inner_text("main")
    _log_in(page, url, "walker@example.com", NEW)
    page.wait_for_url(f"{url}/account")

    # The token never left in a Referer (the stylesheet and every later request).
    assert all(token not in (referer or "") for _, referer in requests)
    changed = inbox.wait_for(3)[2]
    assert changed["Subject"] == "Your password was changed"
    context.close()


@pytest.fixture
def throttled_server(tmp_path, keys_dir):
    env = {
        "AUTHSERVER_DATABASE_URL": f"sqlite:///{tmp_path / 'auth.db'}",
        "AUTHSERVER_KEYS_DIR": str(keys_dir),
        "AUTHSERVER_THROTTLE_ACCOUNT_FAILURES": "3",
        **{f"AUTHSERVER_{k.upper()}": str(v) for k, v in FAST_HASHING.items()},
    }
    for key in [k for k in os.environ if k.startswith("AUTHSERVER_")]:
        env.setdefault(key, "")
    with running_server(env, tmp_path) as server:
        yield server


def test_guesses_from_another_browser_do_not_lock_the_owners_browser_out(
    chromium, throttled_server
):
    url = throttled_server.url
    owner = chromium.new_context()
    page = owner.new_page()
    page.goto(f"{url}/register")
    page.fill("#email", "owner@example.com")
    page.fill("#password", OLD)
    page.fill("#password_confirm", OLD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/email/verify")  # signed in by the sign-up itself
    page.goto(f"{url}/account")
    (device,) = [c for c in owner.cookies() if c["name"] == "device"]
    assert device["httpOnly"] and device["sameSite"] == "Lax" and device["expires"] > 0

    stranger = chromium.new_context().new_page()
    for _ in range(3):
        _log_in(stranger, url, "owner@example.com", "a wrong guess")
        assert "Incorrect e-mail or password." in stranger.inner_text("main")
    _log_in(stranger, url, "owner@example.com", OLD)  # right password, new browser
    assert "Too many attempts" in stranger.inner_text("main")

    page.click("text=Log out everywhere")
    page.wait_for_url(f"{url}/login?notice=logged_out")
    _log_in(page, url, "owner@example.com", OLD)
    page.wait_for_url(f"{url}/account")
    owner.close()
