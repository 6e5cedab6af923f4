"""A person in Chromium signs in to a relying party through a SAML IdP: our login page,
the IdP (another site: its POST to our ACS carries none of our cookies), the hand-over,
consent, and tokens with the roles mapped from the IdP's groups -- real processes."""

from __future__ import annotations

import pytest

from authserver.accounts import roles
from authserver.federation import providers
from authserver.federation.config import ProviderConfig
from authserver.services import build_services, close_services
from authserver.settings import build_settings
from tests.conftest import FAST_HASHING
from tests.factories import Factory
from tests.helpers import claims
from tests.relying_party import RelyingParty, running_relying_party
from tests.saml_idp import SamlIdp, okta_user
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
        "AUTHSERVER_FEDERATION_ALLOW_PRIVATE_NETWORKS": "true",
        **{f"AUTHSERVER_{k.upper()}": str(v) for k, v in FAST_HASHING.items()},
    }
    with running_server(env, tmp_path, port=port) as server:
        settings = build_settings(
            issuer=url,
            database_url=env["AUTHSERVER_DATABASE_URL"],
            keys_dir=keys_dir,
            federation_allow_private_networks=True,
            **FAST_HASHING,
        )
        services = build_services(settings)
        try:
            yield server, services
        finally:
            close_services(services)


def test_saml_sign_in_in_chromium(chromium, authserver_process, tmp_path):
    server, services = authserver_process
    (tmp_path / "idp").mkdir()
    idp = SamlIdp(tmp_path / "idp", host="localhost").start()
    try:
        with services.db.unit_of_work() as uow:
            roles.define(uow, services.clock, "developer")
            providers.create(
                uow,
                providers.registry(services),
                "corp",
                "saml",
                ProviderConfig(
                    display_name="Corp Okta",
                    settings={"metadata_xml": idp.metadata().decode(), "preset": "okta"},
                    policy={"jit": True},
                    mapping={"group_roles": {"Engineering": ["developer"]}},
                ),
                None,
            )
        page = chromium.new_context().new_page()
        idp.sp_metadata = page.request.get(f"{server.url}/federation/saml/corp/metadata").body()
        idp.user = okta_user("00u1abcd", "grace@corp.example", ["Everyone", "Engineering"])
        rp = RelyingParty(issuer=server.url, client_id="", client_secret="")
        with running_relying_party(rp):
            app = Factory(services).client(
                name="Photo App",
                grant_types=["authorization_code", "refresh_token"],
                scope="openid email offline_access",
                redirect_uris=[f"{rp.url}/cb"],
            )
            rp.client_id, rp.client_secret = app.client_id, app.client_secret
            page.goto(f"{rp.url}/login")
            page.wait_for_url(f"{server.url}/login?**")
            page.click("text=Continue with Corp Okta")
            # The IdP answers at once (its user is set); its page posts to our ACS, our
            # hand-over page posts again, and the consent page names the app.
            page.wait_for_selector("text=Allow Photo App access?")
            page.click("button[value=approve]")
            page.wait_for_url(f"{rp.url}/cb?**")
        access = claims(rp.results["token"]["access_token"])
        assert access["roles"] == ["developer", "user"]
        assert "fed" in access["amr"]
        assert rp.results["claims"]["email"] == "grace@corp.example"
    finally:
        idp.stop()
