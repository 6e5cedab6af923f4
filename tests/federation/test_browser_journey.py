"""A person in Chromium signs in to a relying party through authserver with their
organisation's identity provider (a second authserver process): the login page's
"Continue with ..." button, the upstream's own login page, back, consent, the code, the
tokens (roles from the group mapping), refresh, and logout -- all real processes."""

from __future__ import annotations

import pytest

from authserver.accounts import roles
from authserver.federation import providers
from authserver.federation.config import ProviderConfig
from authserver.services import build_services, close_services
from authserver.settings import build_settings
from tests.conftest import FAST_HASHING
from tests.factories import Factory
from tests.federation.upstream import running_upstream
from tests.relying_party import RelyingParty, running_relying_party
from tests.servers import free_port, running_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_continue_with_the_organisations_provider(chromium, tmp_path, keys_dir, key_template):
    port = free_port()
    ours = f"http://127.0.0.1:{port}"
    callback = f"{ours}/federation/corp/callback"
    with running_upstream(tmp_path / "up", key_template, [callback], host="localhost") as up:
        env = {
            "AUTHSERVER_DATABASE_URL": f"sqlite:///{tmp_path / 'auth.db'}",
            "AUTHSERVER_KEYS_DIR": str(keys_dir),
            "AUTHSERVER_ISSUER": ours,
            "AUTHSERVER_FEDERATION_ALLOW_PRIVATE_NETWORKS": "true",
            **{f"AUTHSERVER_{k.upper()}": str(v) for k, v in FAST_HASHING.items()},
        }
        with running_server(env, tmp_path, port=port):
            settings = build_settings(
                issuer=ours,
                database_url=env["AUTHSERVER_DATABASE_URL"],
                keys_dir=keys_dir,
                federation_allow_private_networks=True,
                **FAST_HASHING,
            )
            services = build_services(settings)
            try:
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
                            mapping={
                                "groups_claim": "roles",
                                "group_roles": {"eng": ["developer"]},
                            },
                        ),
                        up.client.client_secret,
                    )
                journey(chromium, ours, up, Factory(services), services)
            finally:
                close_services(services)


def journey(chromium, ours, up, factory, services):
    person = up.user("ivy@corp.example", ["eng"], verified=True)
    rp = RelyingParty(issuer=ours, client_id="", client_secret="")
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
        page.wait_for_url(f"{ours}/login?**")
        page.click("text=Continue with Corp SSO")
        # The upstream's own login page (another server, another host).
        page.wait_for_url(f"{up.url}/login?**")
        page.fill("#email", person.email)
        page.fill("#password", person.password)
        page.click("button[type=submit]")
        page.wait_for_selector("text=Allow Photo App access?")
        page.click("button[value=approve]")
        page.wait_for_url(f"{rp.url}/cb?**")
        assert page.inner_text("#hello") == "Hello ivy@corp.example"
        with services.db.unit_of_work() as uow:
            user = uow.users.find_by_email("ivy@corp.example")
            assert user.roles == ["developer", "user"] and user.password_hash is None
        assert rp.results["claims"]["sub"] == user.id

        page.click("#refresh")
        page.wait_for_selector("#refreshed")
        page.click("#logout")
        page.wait_for_url(f"{rp.url}/bye?**")
        # Signed out here: the app's next sign-in shows our login page again.
        page.goto(f"{rp.url}/login")
        page.wait_for_url(f"{ours}/login?**")
        assert "Continue with Corp SSO" in page.inner_text("main")
