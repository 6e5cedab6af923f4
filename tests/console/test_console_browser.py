"""An administrator in Chromium (Playwright) against a real server process: refused with
the password only (the page says how to enrol), sets up an authenticator app, signs in
on the login page with the password and a TOTP code computed by pyotp, registers a
client, rotates its secret, edits a user's roles, unlinks their identity, resets their
second factors, previews a token, rotates a key; keyboard-only and phone width; a
screenshot of each page (for review, written to CONSOLE_SCREENSHOTS or a temporary
folder, never checked in)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pyotp
import pytest

from authserver.accounts import login_sessions
from authserver.services import build_services, close_services
from authserver.settings import build_settings
from tests.axe import AXE, DESKTOP, PHONE, audit
from tests.conftest import FAST_HASHING, IN_CI
from tests.console.helpers import enrol_factors, link_identity
from tests.factories import Factory
from tests.servers import running_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def stack(tmp_path, keys_dir):
    db = f"sqlite:///{tmp_path / 'auth.db'}"
    env = {
        "AUTHSERVER_DATABASE_URL": db,
        "AUTHSERVER_KEYS_DIR": str(keys_dir),
        **{f"AUTHSERVER_{k.upper()}": str(v) for k, v in FAST_HASHING.items()},
    }
    for key in [k for k in os.environ if k.startswith("AUTHSERVER_")]:
        env.setdefault(key, "")
    with running_server(env, tmp_path) as server:
        settings = build_settings(
            issuer=server.url,
            database_url=db,
            keys_dir=keys_dir,
            auto_migrate=False,
            client_cache_ttl=0,
            **FAST_HASHING,
        )
        services = build_services(settings)
        try:
            yield server, services, Factory(services)
        finally:
            close_services(services)


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("CONSOLE_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _password_step(page, url, email, password):
    """From the console, sent to the login page: e-mail and password."""
    page.goto(f"{url}/console")
    page.wait_for_url(f"{url}/login?next=/console")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("main form[action='/login'] button[type=submit]")


def _enrol_and_sign_in(page, url, shots, admin):
    """Refused with the password only; an authenticator app set up on the page it is sent
    to (a real code, by pyotp); then a sign-in anew: the password, then the app's code."""
    _password_step(page, url, admin.email, admin.password)
    page.wait_for_url(f"{url}/account/mfa/setup?next=%2Fconsole")
    page.goto(f"{url}/console")
    assert "A second factor is needed" in page.inner_text("h1")
    assert "Add an authenticator app" in page.inner_text("main")
    page.screenshot(path=shots / "refused-without-mfa.png", full_page=True)
    page.click("text=Add a second factor")
    page.wait_for_url(f"{url}/account")
    page.click("text=Set up an authenticator app")
    key = page.inner_text("code.totp-key").replace(" ", "")
    # One step back: the sign-in below uses the step after now (each is accepted once).
    page.fill("#code", pyotp.TOTP(key).at(time.time() - 30))
    page.click("button:has-text('Confirm')")
    assert "Your recovery codes" in page.inner_text("h1")

    page.context.clear_cookies()
    _password_step(page, url, admin.email, admin.password)
    page.wait_for_url(f"{url}/login/second-factor?**")
    page.fill("#code", pyotp.TOTP(key).at(time.time() + 30))
    page.click("button:has-text('Verify')")
    page.wait_for_url(f"{url}/console")


def _fits(page):
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def test_an_admin_runs_the_console(chromium, stack, tmp_path):
    server, services, factory = stack
    url, shots = server.url, _shots(tmp_path)
    admin = factory.user(email="root@example.com", role="admin")
    member = factory.user(email="jo.member@example.com")
    context = chromium.new_context()
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    _enrol_and_sign_in(page, url, shots, admin)
    assert "Dashboard" in page.inner_text("h1")
    page.screenshot(path=shots / "dashboard.png", full_page=True)

    # Keyboard only: from the top, Tab reaches the navigation and Enter follows it.
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.textContent") == "Clients":
            break
    page.keyboard.press("Enter")
    page.wait_for_url(f"{url}/console/clients")

    page.click("text=Register a client")
    page.fill("#name", "Billing <app>")
    page.fill("#client_id", "billing")
    page.fill("#redirect_uris", "https://billing.example.com/cb")
    page.fill("#scope", "openid email roles")
    page.screenshot(path=shots / "client-new.png", full_page=True)
    page.click("button:has-text('Register')")
    first_secret = page.inner_text("#client-secret")
    assert "Client registered" in page.inner_text("h1") and len(first_secret) > 30
    page.screenshot(path=shots / "client-secret.png", full_page=True)
    page.click("text=Open the client")
    assert page.input_value("#name") == "Billing <app>"
    page.screenshot(path=shots / "client.png", full_page=True)
    page.click("text=Rotate the secret")
    assert "Secret rotated" in page.inner_text("h1")
    assert page.inner_text("#client-secret") != first_secret

    # A user's roles, and one of their sessions ended.
    with services.db.unit_of_work() as uow:
        user = uow.users.get(member.id)
        login_sessions.start(
            uow, services.clock, services.settings, user, user_agent="Phone browser"
        )
    link_identity(services, member.id, "jo@corp.example")
    enrol_factors(services, member.id, "Jo's <key>")
    page.click("nav >> text=Users")
    page.fill("#q", "jo")
    page.keyboard.press("Enter")
    page.click("text=jo.member@example.com")
    assert "Phone browser" in page.inner_text("#sessions ~ div, main")
    page.check("input[name=role_admin]")
    page.click("text=Save roles")
    assert "The roles were saved" in page.inner_text("main")
    assert "No active session." in page.inner_text("main")  # a role change ends them
    assert "Jo's <key>" in page.inner_text("#second-factors ~ dl")
    page.screenshot(path=shots / "user.png", full_page=True)

    # Their identity unlinked, their second factors reset: each after a confirmation.
    page.click("text=Unlink…")
    assert "jo@corp.example" in page.inner_text("main")
    page.screenshot(path=shots / "user-unlink.png", full_page=True)
    page.click("button:has-text('Unlink the identity')")
    assert "The identity was unlinked" in page.inner_text("main")
    assert "No identity of another provider is linked." in page.inner_text("main")
    page.click("text=Reset the second factors…")
    page.screenshot(path=shots / "user-mfa-reset.png", full_page=True)
    page.click("button:has-text('Reset the second factors')")
    assert "The second factors were removed" in page.inner_text("main")
    assert "Jo's <key>" not in page.inner_text("main")

    # Token preview, then a key rotation.
    page.click("nav >> text=Token preview")
    page.fill("#client_id", "billing")
    page.fill("#user", member.email)
    page.click("button:has-text('Preview')")
    assert '"roles"' in page.inner_text("#preview-id-token")
    assert '"aud": "billing"' in page.inner_text("#preview-id-token")
    page.screenshot(path=shots / "preview.png", full_page=True)
    page.click("nav >> text=Keys")
    page.click("text=Publish a new key")
    assert "A new key was published" in page.inner_text("main")
    page.screenshot(path=shots / "keys.png", full_page=True)
    page.click("nav >> text=Audit log")
    page.select_option("#event", "key.rotated")
    page.click("button:has-text('Filter')")
    assert "key.rotated" in page.inner_text("tbody")
    page.screenshot(path=shots / "audit.png", full_page=True)

    # Phone width: nothing scrolls sideways but the tables inside their own boxes.
    page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
    for path in (
        "/console",
        "/console/clients",
        f"/console/users/{member.id}",
        "/console/keys",
        "/console/audit",
        "/console/preview",
        "/console/client?id=billing",
    ):
        page.goto(url + path)
        assert _fits(page), path
    page.screenshot(path=shots / "phone-client.png", full_page=True)
    assert [e for e in errors if "Refused" in e or "Uncaught" in e] == []  # CSP, scripts
    context.close()


def _signed_in(context, services, url, user_id, methods=("pwd", "otp")):
    """A login session with password and an authenticator code, as the journey above
    gets through the pages (here only the pages' accessibility is under test)."""
    with services.db.unit_of_work() as uow:
        user = uow.users.get(user_id)
        _, secret = login_sessions.start(
            uow, services.clock, services.settings, user, methods=methods
        )
    context.add_cookies([{"name": "session", "value": secret, "url": url}])


def test_every_console_page_passes_axe_at_desktop_and_phone_width(chromium, stack):
    if not AXE.exists():
        message = f"{AXE} is missing (npm ci --prefix tests/a11y)"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    server, services, factory = stack
    url, problems = server.url, []
    admin = factory.user(email="root@example.com", role="admin")
    member = factory.user(email="jo.member@example.com")
    identity = link_identity(services, member.id, "jo@corp.example")
    enrol_factors(services, member.id, "Jo's key")
    app = factory.client(
        client_id="photos",
        grant_types=["authorization_code"],
        redirect_uris=["https://photos.example.com/cb"],
        scope="openid email",
    )
    # bypass_csp: only so that the test can inject axe-core; the pages' own CSP stays.
    context = chromium.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    _signed_in(context, services, url, admin.id)
    page = context.new_page()

    def check(state):
        audit(page, state, problems, axe_sizes=(DESKTOP, PHONE), fit_sizes=(PHONE,))

    def visit(path, state, status=200):
        assert page.goto(url + path).status == status, state
        check(state)

    visit("/console", "dashboard")
    visit("/console/clients", "clients")
    visit("/console/clients/new", "client: new")
    page.fill("#redirect_uris", "http://not-https.example.com/cb")
    page.click("button:has-text('Register')")
    assert page.locator("p.error").count() == 1, page.content()
    assert page.locator("#name").count() == 1, page.content()
    check("client: new, with an error")
    page.fill("#name", "Billing")
    page.fill("#redirect_uris", "https://billing.example.com/cb")
    page.click("button:has-text('Register')")
    assert page.locator("#client-secret").count() == 1
    check("client: secret shown")
    visit(f"/console/client?id={app.client_id}", "client: edit")
    visit(f"/console/client/delete?id={app.client_id}", "client: delete")
    visit("/console/users", "users")
    visit(f"/console/users/{member.id}", "user")
    visit(f"/console/users/{member.id}/identities/unlink?id={identity}", "user: unlink")
    visit(f"/console/users/{member.id}/mfa/reset", "user: reset factors")
    visit("/console/providers", "providers")
    visit("/console/providers/new", "provider: new")
    visit("/console/providers/corp", "provider: edit")
    visit("/console/keys", "keys")
    visit("/console/audit", "audit")
    visit("/console/preview", "preview: empty")
    visit(f"/console/preview?client_id=photos&user={member.email}", "preview: result")
    assert page.locator("#preview-id-token").count() == 1
    visit("/console/client?id=nobody", "error page", 404)
    assert "Not found" in page.inner_text("h1")
    context.clear_cookies()
    _signed_in(context, services, url, admin.id, methods=("pwd",))
    visit("/console", "refused: no second factor", 403)
    context.close()
    assert problems == [], "\n".join(problems)
