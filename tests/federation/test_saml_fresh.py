"""Fresh authentication through a SAML IdP (pysaml2, signing with xmlsec1) where the
person has a single sign-on session: the RP's `prompt=login` makes our AuthnRequest
carry ForceAuthn="true" (SAML Core §3.4.1); an IdP that honours it authenticates anew
and the login goes through, one that answers from its old session (an AuthnInstant
before the round trip) is refused, audited, and nobody is signed in. Without a demand,
no ForceAuthn, and the session's AuthnInstant is the login's auth_time."""

from __future__ import annotations

import base64
import time
import zlib
from urllib.parse import urlsplit

import pytest

from authserver.federation import providers
from authserver.federation.config import ProviderConfig
from authserver.federation.saml import metadata
from authserver.federation.saml.config import service_provider
from tests.federation.fresh_helpers import OffsetClock, continue_at_rp, round_trip_row, start_at_rp
from tests.federation.test_saml_login import post_to_acs
from tests.federation.test_upstream_down import counts, rejections
from tests.federation.upstream import OUR_ISSUER
from tests.helpers import claims
from tests.oidc import REDIRECT, query_of
from tests.saml_idp import SamlIdp, okta_user

pytestmark = pytest.mark.slow
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
# The person signed in at the IdP this long before the round trip.
SESSION_AGE = 600


@pytest.fixture(scope="module")
def idp(tmp_path_factory):
    server = SamlIdp(tmp_path_factory.mktemp("saml-idp")).start()
    yield server
    server.stop()


@pytest.fixture
def settings(make_settings):
    return make_settings(federation_allow_private_networks=True)


@pytest.fixture
def app(factory):
    return factory.client(
        grant_types=["authorization_code"],
        scope="openid email profile",
        redirect_uris=[REDIRECT],
        first_party=True,
    )


@pytest.fixture
def provider(services, idp):
    with services.db.unit_of_work() as uow:
        providers.create(
            uow,
            providers.registry(services),
            "corp",
            "saml",
            ProviderConfig(
                display_name="Corp SAML",
                settings={"metadata_xml": idp.metadata().decode(), "preset": "okta"},
                policy={"jit": True},
            ),
            None,
        )
    idp.sp_metadata = metadata.sp_metadata(service_provider(OUR_ISSUER, "corp", PERSISTENT))
    idp.user = okta_user("00u1fresh", "fran@corp.example", ["Everyone"])
    idp.session_started = time.time() - SESSION_AGE
    idp.honours_force_authn = True
    return "corp"


def sent_request(sso_url: str) -> bytes:
    """Our AuthnRequest as the URL carries it (SAML Bindings §3.4.4.1)."""
    raw = base64.b64decode(query_of(sso_url)["SAMLRequest"])
    return zlib.decompress(raw, -15)


def at_idp(client, idp, journey):
    _action, saml_response, relay_state = idp.respond(urlsplit(journey.upstream_url).query)
    return continue_at_rp(client, journey, post_to_acs(client, saml_response, relay_state))


def test_prompt_login_sends_force_authn_and_a_fresh_answer_goes_through(
    client, services, app, idp, provider
):
    journey = start_at_rp(client, app, provider, OffsetClock(), prompt="login")
    assert b'ForceAuthn="true"' in sent_request(journey.upstream_url)
    assert round_trip_row(services, journey.upstream_url, "RelayState")[0] is True
    _back, tokens = at_idp(client, idp, journey)
    assert idp.requests[-1].force_authn == "true"  # what the IdP read
    assert tokens is not None
    assert int(journey.started_at) <= claims(tokens["id_token"])["auth_time"] <= time.time()


def test_an_idp_answering_from_its_old_session_is_refused(client, services, app, idp, provider):
    idp.honours_force_authn = False
    before = counts(services)
    journey = start_at_rp(client, app, provider, OffsetClock(), prompt="login")
    back, tokens = at_idp(client, idp, journey)
    assert tokens is None and back.status_code == 403
    assert "Corp SAML did not ask you to sign in again" in back.text
    assert "session=" not in back.headers.get("set-cookie", "")
    (refused,) = rejections(services)
    assert refused["reason"] == "not_reauthenticated" and refused["detail"] == "stale_auth_time"
    assert refused["auth_time"] == int(idp.session_started)
    assert counts(services) == before
    metrics = client.get("/metrics").text
    assert 'outcome="rejected:not_reauthenticated",provider="corp"} 1.0' in metrics


def test_without_a_demand_no_force_authn_and_the_sessions_instant_is_the_auth_time(
    client, services, app, idp, provider
):
    journey = start_at_rp(client, app, provider, OffsetClock())
    assert b"ForceAuthn" not in sent_request(journey.upstream_url)
    assert round_trip_row(services, journey.upstream_url, "RelayState")[0] is False
    _back, tokens = at_idp(client, idp, journey)
    assert idp.requests[-1].force_authn is None
    assert claims(tokens["id_token"])["auth_time"] == int(idp.session_started)
