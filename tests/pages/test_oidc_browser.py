"""A person in Chromium signs in to a relying party through authserver: the hosted login
and consent pages, the redirect back with a code, the exchange, userinfo, refresh and
RP-initiated logout -- against real server processes."""

from __future__ import annotations

import pytest

from authserver.services import build_services, close_services
from authserver.settings import build_settings
from tests.conftest import FAST_HASHING
from tests.factories import Factory
from tests.relying_party import RelyingParty, running_relying_party
from tests.servers import free_port, running_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def authserver_process(tmp_path, keys_dir):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        "AUTHSERVER_DATABASE_URL": f"sqlite:///{tmp_path / 'auth.db'}",
        "AUTHSERVER_KEYS_DIR": str(keys_dir),
        "AUTHSERVER_ISSUER": url,
        "AUTHSERVER_CLIENT_CACHE_TTL": "0",
        **{f"AUTHSERVER_{k.upper()}": str(v) for k, v in FAST_HASHING.items()},
    }
    with running_server(env, tmp_path, port=port) as server:
        settings = build_settings(
            issuer=url,
            database_url=env["AUTHSERVER_DATABASE_URL"],
            keys_dir=keys_dir,
            **FAST_HASHING,
        )
        services = build_services(settings)
        try:
            yield server, Factory(services)
        finally:
            close_services(services)


def test_sign_in_consent_userinfo_refresh_and_log_out(chromium, authserver_process):
    server, factory = authserver_process
    user = factory.user(email="pat@example.com")
    rp = RelyingParty(issuer=server.url, client_id="", client_secret="")
    with running_relying_party(rp):
        app = factory.client(
            name="Photo App",
            grant_types=["authorization_code", "refresh_token"],
            scope="openid email offline_access",
            redirect_uris=[f"{rp.url}/cb"],
            post_logout_redirect_uris=[f"{rp.url}/bye"],
        )
        rp.client_id, rp.client_secret = app.client_id, app.client_secret
        page = chromium.new_context().new_page()
        page.goto(f"{rp.url}/login")
        page.wait_for_url(f"{server.url}/login?**")
        page.fill("#email", user.email)
        page.fill("#password", user.password)
        page.click("button[type=submit]")
        # The consent page names the app and what it asks for.
        page.wait_for_selector("text=Allow Photo App access?")
        assert "See your e-mail address" in page.inner_text("main")
        page.click("button[value=approve]")
        page.wait_for_url(f"{rp.url}/cb?**")
        assert page.inner_text("#hello") == "Hello pat@example.com"
        assert rp.results["claims"]["sub"] == user.id
        assert rp.results["userinfo"]["email"] == "pat@example.com"

        page.click("#refresh")
        page.wait_for_selector("#refreshed")
        assert rp.results["refreshed"]["refresh_token"] != rp.results["claims"].get("x")

        page.click("#logout")
        page.wait_for_url(f"{rp.url}/bye?**")
        assert rp.results["bye_state"] == "bye-state"
        # Signed out at the server: a new sign-in asks for the password again.
        page.goto(f"{rp.url}/login")
        page.wait_for_url(f"{server.url}/login?**")
