"""A person in Chromium signs in to a relying party through authserver with their
organisation's identity provider, here node-oidc-provider (npm) -- another OpenID
Provider implementation than ours: "Continue with ...", its own login and consent pages,
back, our consent, the code, tokens whose roles follow the group mapping, refresh and
logout. All real processes: node, authserver, the relying party, Chromium."""

from __future__ import annotations

import pytest

from authserver.accounts import roles
from authserver.clock import to_datetime
from authserver.federation import providers
from authserver.federation.config import ProviderConfig
from authserver.services import build_services, close_services
from authserver.settings import build_settings
from tests.conftest import FAST_HASHING
from tests.factories import Factory
from tests.federation.node_provider import running_node_upstream
from tests.helpers import claims
from tests.relying_party import RelyingParty, running_relying_party
from tests.servers import free_port, running_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ACCOUNTS = {
    # `admin` upstream is only a group name: no rule maps it, so it grants nothing here.
    "ivy": {
        "email": "ivy@corp.example",
        "email_verified": True,
        "name": "Ivy Example",
        "groups": ["engineering", "admin"],
    }
}


def test_continue_with_node_oidc_provider(chromium, tmp_path, keys_dir):
    port = free_port()
    ours = f"http://127.0.0.1:{port}"
    callback = f"{ours}/federation/corp/callback"
    with running_node_upstream(tmp_path / "node", callback, ACCOUNTS) as up:
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
                            display_name="Corp Node IdP",
                            settings={
                                "issuer": up.url,
                                "client_id": up.client_id,
                                "scopes": ["openid", "email", "profile", "groups"],
                            },
                            policy={"jit": True},
                            mapping={
                                "groups_claim": "groups",
                                "group_roles": {"engineering": ["developer"]},
                            },
                        ),
                        up.client_secret,
                    )
                journey(chromium, ours, up, Factory(services), services)
            finally:
                close_services(services)


def journey(chromium, ours, up, factory, services):
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
        page.click("text=Continue with Corp Node IdP")
        # node-oidc-provider's own login page (devInteractions), typed into.
        page.wait_for_url(f"{up.url}/interaction/**")
        page.fill("input[name=login]", "ivy")
        page.fill("input[name=password]", "any password")
        page.click("button[type=submit]")
        # Its consent page (the first time this account meets our client there).
        page.wait_for_selector("text=Continue")
        assert page.url.startswith(f"{up.url}/interaction/")
        page.click("button[type=submit]")
        page.wait_for_selector("text=Allow Photo App access?")
        page.click("button[value=approve]")
        page.wait_for_url(f"{rp.url}/cb?**")
        assert page.inner_text("#hello") == "Hello ivy@corp.example"

        with services.db.unit_of_work() as uow:
            user = uow.users.find_by_email("ivy@corp.example")
            assert user.password_hash is None and user.email_verified is True
            assert user.name == "Ivy Example"
            (identity,) = uow.identities.of_user(user.id)
            assert (identity.provider_id, identity.subject) == ("corp", "ivy")
        access = claims(rp.results["token"]["access_token"])
        assert access["sub"] == rp.results["claims"]["sub"] == user.id
        assert "developer" in access["roles"] and "admin" not in access["roles"]
        assert access["role"] != "admin" and "fed" in access["amr"]

        page.click("#refresh")
        page.wait_for_selector("#refreshed")
        refreshed = claims(rp.results["refreshed"]["access_token"])
        assert refreshed["sub"] == user.id and "developer" in refreshed["roles"]
        page.click("#logout")
        page.wait_for_url(f"{rp.url}/bye?**")
        with services.db.unit_of_work() as uow:
            now = to_datetime(services.clock.now())
            assert uow.login_sessions.list_active(user.id, now) == []
        # Signed out here: the app's next sign-in shows our login page again.
        page.goto(f"{rp.url}/login")
        page.wait_for_url(f"{ours}/login?**")
        assert "Continue with Corp Node IdP" in page.inner_text("main")
