"""An administrator in Chromium runs an identity provider's test login from the console:
"Test login" on the provider's page, the upstream's own sign-in page (a second authserver
process, another host), back to the console's result with the claims and the mapped
roles; nobody was signed in or created. A screenshot for review (CONSOLE_SCREENSHOTS or
a temporary folder, never checked in); axe-core on both pages at desktop and phone
width when tests/a11y is installed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from authserver.accounts import login_sessions, roles
from authserver.federation import providers
from authserver.federation.config import ProviderConfig
from authserver.services import build_services, close_services
from authserver.settings import build_settings
from tests.axe import AXE, audit
from tests.conftest import FAST_HASHING, IN_CI
from tests.factories import Factory
from tests.federation.upstream import running_upstream
from tests.servers import free_port, running_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _register(services, up) -> None:
    with services.db.unit_of_work() as uow:
        roles.define(uow, services.clock, "developer")
        providers.create(
            uow,
            providers.registry(services),
            "corp",
            "oidc",
            ProviderConfig(
                display_name="Corp SSO",
                settings={
                    "issuer": up.url,
                    "client_id": up.client.client_id,
                    "scopes": ["openid", "email", "profile", "roles"],
                },
                policy={"jit": True},
                mapping={"groups_claim": "roles", "group_roles": {"eng": ["developer"]}},
            ),
            up.client.client_secret,
        )


def test_an_admin_runs_a_provider_test_login(chromium, tmp_path, keys_dir, key_template):
    if IN_CI and not AXE.exists():
        pytest.fail(f"{AXE} is missing (npm ci --prefix tests/a11y)", pytrace=False)
    port = free_port()
    ours = f"http://127.0.0.1:{port}"
    callback = f"{ours}/federation/corp/callback"
    shots = Path(os.environ.get("CONSOLE_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    with running_upstream(tmp_path / "up", key_template, [callback], host="localhost") as up:
        env = {
            "AUTHSERVER_DATABASE_URL": f"sqlite:///{tmp_path / 'auth.db'}",
            "AUTHSERVER_KEYS_DIR": str(keys_dir),
            "AUTHSERVER_ISSUER": ours,
            "AUTHSERVER_FEDERATION_ALLOW_PRIVATE_NETWORKS": "true",
            **{f"AUTHSERVER_{k.upper()}": str(v) for k, v in FAST_HASHING.items()},
        }
        for key in [k for k in os.environ if k.startswith("AUTHSERVER_")]:
            env.setdefault(key, "")
        with running_server(env, tmp_path, port=port):
            settings = build_settings(
                issuer=ours,
                database_url=env["AUTHSERVER_DATABASE_URL"],
                keys_dir=keys_dir,
                federation_allow_private_networks=True,
                auto_migrate=False,
                **FAST_HASHING,
            )
            services = build_services(settings)
            try:
                _register(services, up)
                admin = Factory(services).user(email="root@example.com", role="admin")
                person = up.user("ivy@corp.example", ["eng"], verified=True)
                with services.db.unit_of_work() as uow:
                    # The admin's browser, signed in with password and an authenticator code.
                    _, secret = login_sessions.start(
                        uow,
                        services.clock,
                        services.settings,
                        uow.users.get(admin.id),
                        methods=("pwd", "otp"),
                    )
                # bypass_csp: only so that the test can inject axe-core (the CSP stays).
                context = chromium.new_context(bypass_csp=True)
                context.add_cookies([{"name": "session", "value": secret, "url": ours}])
                page = context.new_page()
                page.goto(f"{ours}/console/providers/corp")
                problems: list[str] = []
                if AXE.exists():  # npm ci --prefix tests/a11y
                    audit(page, "provider with its test login", problems)
                page.click("button:has-text('Test login')")
                # The upstream's own sign-in page (another server, another host).
                page.wait_for_url(f"{up.url}/login?**")
                page.fill("#email", person.email)
                page.fill("#password", person.password)
                page.click("button[type=submit]")
                page.wait_for_url(f"{ours}/console/providers/corp/test")
                assert "one would be created for ivy@corp.example" in page.inner_text(
                    "#test-outcome"
                )
                assert page.inner_text("#test-roles-after") == '["developer", "user"]'
                assert '"email": "ivy@corp.example"' in page.inner_text("#test-received")
                page.screenshot(path=shots / "provider-test-login.png", full_page=True)
                if AXE.exists():
                    audit(page, "test login result", problems)
                assert problems == [], "\n".join(problems)
                with services.db.unit_of_work() as uow:
                    assert uow.users.find_by_email(person.email) is None
                # Still the admin's console.
                page.click("text=Back to the provider")
                assert "Signed in as root@example.com" in page.inner_text("header")
            finally:
                close_services(services)
