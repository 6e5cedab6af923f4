"""An administrator in Chromium (Playwright) against a real server process: into the
console with a second factor, registers a client, rotates its secret, edits a user's
roles, ends a session, previews a token, rotates a key; keyboard-only and phone width;
a screenshot of each page (for review, written to CONSOLE_SCREENSHOTS or a temporary
folder, never checked in)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from authserver.accounts import login_sessions
from authserver.services import build_services, close_services
from authserver.settings import build_settings
from tests.conftest import FAST_HASHING
from tests.factories import Factory
from tests.servers import running_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PHONE = {"width": 390, "height": 844}


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


def _second_factor_session(context, services, url, user_id):
    """The admin's browser signed in with password and an authenticator code."""
    with services.db.unit_of_work() as uow:
        user = uow.users.get(user_id)
        _, secret = login_sessions.start(
            uow, services.clock, services.settings, user, methods=("pwd", "otp")
        )
    context.add_cookies([{"name": "session", "value": secret, "url": url}])


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

    _second_factor_session(context, services, url, admin.id)

    page.goto(f"{url}/console")
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
    page.click("nav >> text=Users")
    page.fill("#q", "jo")
    page.keyboard.press("Enter")
    page.click("text=jo.member@example.com")
    assert "Phone browser" in page.inner_text("#sessions ~ div, main")
    page.check("input[name=role_admin]")
    page.click("text=Save roles")
    assert "The roles were saved" in page.inner_text("main")
    assert "No active session." in page.inner_text("main")  # a role change ends them
    page.screenshot(path=shots / "user.png", full_page=True)

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
    page.set_viewport_size(PHONE)
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
