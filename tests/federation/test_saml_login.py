"""SAML sign-in over HTTP against a real IdP (pysaml2, signing with xmlsec1): the
journey client -> login page -> IdP -> ACS (-> hand-over) -> consent -> tokens with the
mapped roles, for the Entra ID, Okta and OneLogin shapes; and every bad response refused
at the ACS, audited with its reason, nothing created, never a 500."""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

import pytest
from saml2.xmldsig import DIGEST_SHA1, SIG_RSA_SHA1

from authserver.accounts import roles
from authserver.federation import providers
from authserver.federation.config import ProviderConfig
from authserver.federation.last_login import last_login
from authserver.federation.saml import flow as saml_flow
from authserver.federation.saml import metadata
from authserver.federation.saml.config import service_provider
from authserver.hashing import secret_hash
from tests import saml_crafting as craft
from tests.federation import test_saml_response as cases
from tests.federation.upstream import OUR_ISSUER, start_federated
from tests.helpers import claims, refresh_grant
from tests.oidc import REDIRECT, Flow, hidden_fields, query_of
from tests.saml_idp import ENTRA_TENANT, SamlIdp, entra_user, okta_user, onelogin_user

pytestmark = pytest.mark.slow
# The checks do not depend on the backend; the journeys and the replay cache run on both.
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
ACS = "/federation/saml/corp/acs"
OID = "0b8e8a2f-1111-2222-3333-444455556666"
ADMINS = "11111111-aaaa-bbbb-cccc-000000000001"


@pytest.fixture(scope="module")
def idp(tmp_path_factory):
    server = SamlIdp(tmp_path_factory.mktemp("saml-idp")).start()
    yield server
    server.stop()


@pytest.fixture
def settings(make_settings):
    return make_settings(federation_allow_private_networks=True)


@pytest.fixture
def provider(services, idp):
    """Our provider `corp` for the IdP, with a preset; JIT; group -> developer/admin."""

    def add(preset: str = "okta", **settings) -> str:
        # Not `admin`: that role must enrol a second factor first (the MFA policy).
        group_roles = {"Engineering": ["developer"], ADMINS: ["ops"], "Admins": ["ops"]}
        with services.db.unit_of_work() as uow:
            for role in ("developer", "ops"):
                if uow.roles.get(role) is None:
                    roles.define(uow, services.clock, role)
            providers.create(
                uow,
                providers.registry(services),
                "corp",
                "saml",
                ProviderConfig(
                    display_name="Corp SAML",
                    settings={
                        "metadata_xml": idp.metadata().decode(),
                        "preset": preset,
                        **settings,
                    },
                    policy={"jit": True},
                    mapping={"group_roles": group_roles, "roles_managed": True},
                ),
                None,
            )
        fmt = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" if preset == "okta" else None
        idp.sp_metadata = metadata.sp_metadata(service_provider(OUR_ISSUER, "corp", fmt))
        return "corp"

    return add


@pytest.fixture
def app(factory):
    return factory.client(
        grant_types=["authorization_code", "refresh_token"],
        scope="openid email profile offline_access roles",
        redirect_uris=[REDIRECT],
        refresh_without_offline_access=True,
    )


def events(services, name):
    with services.db.unit_of_work() as uow:
        return list(uow.audit.query(event=name, limit=200))


def post_to_acs(client, saml_response: str, relay_state: str, hand_over: bool = True):
    """The IdP's auto-posted form; then our hand-over page's form, as the browser would."""
    r = client.post(
        ACS, data={"SAMLResponse": saml_response, "RelayState": relay_state}, follow_redirects=False
    )
    if not hand_over:
        return r
    assert r.status_code == 200, r.text
    assert "script-src 'self'" in r.headers["content-security-policy"]
    fields = hidden_fields(r.text)
    assert fields["handed_over"] == "1"
    return client.post(ACS, data=fields, follow_redirects=False)


def saml_sign_in(client, app, idp):
    flow = Flow(client, app, scope="openid email profile roles")
    r = flow.start()
    next_path = query_of(r.headers["location"])["next"]
    sso = start_federated(client, "corp", next_path)
    assert sso.startswith(idp.base + "/sso?SAMLRequest=")
    action, saml_response, relay_state = idp.respond(urlsplit(sso).query)
    assert urlsplit(action).path == ACS
    back = post_to_acs(client, saml_response, relay_state)
    assert back.status_code == 303, back.text
    r = client.get(back.headers["location"], follow_redirects=False)
    if r.status_code == 200:
        r = flow.consent(r)
    assert r.status_code == 302 and r.headers["location"].startswith(REDIRECT), r.text
    return flow.exchange(query_of(r.headers["location"])["code"]).json()


@pytest.mark.parametrize(
    "preset, user, subject, expected_roles",
    [
        (
            "entra",
            entra_user(OID, "ada@corp.example", [ADMINS, "22222222-aaaa-bbbb-cccc-000000000002"]),
            f"{ENTRA_TENANT}/{OID}",
            ["ops", "user"],
        ),
        (
            "okta",
            okta_user("00u1abcd", "grace@corp.example", ["Everyone", "Engineering"]),
            "00u1abcd",
            ["developer", "user"],
        ),
        (
            "onelogin",
            onelogin_user("kj@corp.example", ["Staff", "Admins"]),
            "kj@corp.example",
            ["ops", "user"],
        ),
    ],
    ids=["entra", "okta", "onelogin"],
)
def test_saml_journey_jit_roles_and_refresh(
    client, app, idp, provider, services, preset, user, subject, expected_roles
):
    # OneLogin's NameID here is its default, the e-mail: accepted only with the opt-in.
    extra = {"entra": {"tenant": ENTRA_TENANT}, "onelogin": {"allow_email_name_id": True}}
    provider(preset, **extra.get(preset, {}))
    idp.user = user
    tokens = saml_sign_in(client, app, idp)
    access = claims(tokens["access_token"])
    assert access["roles"] == expected_roles
    assert "fed" in access["amr"]
    with services.db.unit_of_work() as uow:
        (identity,) = uow.identities.of_user(access["sub"])
        assert identity.provider_id == "corp" and identity.subject == subject
        assert identity.email_verified is False
        assert identity.claims["saml"]["name_id"] == user.name_id
    assert events(services, "federation.jit_created")[0].details["provider"] == "corp"
    # `authserver providers test corp`: what the assertion said and what it mapped to.
    with services.db.unit_of_work() as uow:
        shown = last_login(uow, "corp")["last_login"]
    assert shown["received"]["saml"]["name_id"] == user.name_id
    assert shown["received"]["saml"]["attributes"] == user.attributes
    assert shown["mapped"]["subject"] == subject and shown["mapped"]["roles"] == expected_roles
    assert refresh_grant(client, app, tokens["refresh_token"]).status_code == 200
    # The same person again: the same user (by subject), no second account.
    client.cookies.clear()
    again = saml_sign_in(client, app, idp)
    assert claims(again["access_token"])["sub"] == access["sub"]


def test_an_email_name_id_is_refused_without_the_opt_in(client, app, idp, provider, services):
    provider("onelogin")  # as added from the README, without allow_email_name_id
    idp.user = onelogin_user("kj@corp.example", ["Staff"])
    next_path = query_of(Flow(client, app).start().headers["location"])["next"]
    sso = start_federated(client, "corp", next_path)
    _action, saml_response, relay_state = idp.respond(urlsplit(sso).query)
    r = post_to_acs(client, saml_response, relay_state)
    assert_refused(services, r, "saml_email_name_id")
    with services.db.unit_of_work() as uow:
        assert uow.users.find_by_email("kj@corp.example") is None


@sqlite_only
def test_entra_overage_grants_only_the_default_role(client, app, idp, provider):
    provider("entra", tenant=ENTRA_TENANT)
    idp.user = entra_user(OID, "ada@corp.example", [ADMINS], overage=True)
    assert claims(saml_sign_in(client, app, idp)["access_token"])["roles"] == ["user"]


# --- refusals at the ACS ---------------------------------------------------------------------


@pytest.fixture
def pending(client, app, idp, provider, services):
    """A login started in this browser: its RelayState and a Crafter for responses that
    answer its AuthnRequest (signed with the IdP's key)."""
    provider("okta")
    flow = Flow(client, app)
    next_path = query_of(flow.start().headers["location"])["next"]
    sso = start_federated(client, "corp", next_path)
    relay_state = query_of(sso)["RelayState"]
    base = craft.Shape(
        idp_entity_id=idp.entity_id,
        sp_entity_id=f"{OUR_ISSUER}/federation/saml/corp/metadata",
        acs_url=f"{OUR_ISSUER}{ACS}",
        request_id=saml_flow.request_id(services.cookie_secret, relay_state),
    )
    crafter = craft.Crafter(idp.private_key(), idp.certificate(), *_stranger(idp), base=base)
    return relay_state, crafter, sso


def _stranger(idp):
    return idp.private_key("next"), idp.certificate("next")


def assert_refused(services, r, reason: str, status: int = 502, identities: int = 0):
    assert r.status_code == status, r.text
    assert "You were not signed in" in r.text
    rejected = events(services, "federation.rejected")
    assert rejected and rejected[0].details["reason"] == reason
    with services.db.unit_of_work() as uow:
        assert uow.identities.count_of_provider("corp") == identities
        assert last_login(uow, "corp")["last_refusal"]["reason"] == reason


HTTP_CASES = [
    cases.xsw_moved,
    cases.xsw_second_assertion,
    cases.xsw_evil_twin_first,
    cases.xsw_inside_signature_object,
    cases.xsw_signature_over_other_element,
    cases.unsigned,
    cases.other_certificate,
    cases.comment_in_name_id,
]


@sqlite_only
@pytest.mark.parametrize("case", HTTP_CASES, ids=lambda c: c.__name__)
def test_signature_attacks_are_refused_at_the_acs(client, services, pending, case):
    relay_state, crafter, _ = pending
    root, reason = case(crafter)
    r = post_to_acs(client, craft.encode(craft.to_bytes(root)), relay_state)
    assert_refused(services, r, f"saml_{reason}")


@sqlite_only
@pytest.mark.parametrize(
    "case",
    [
        "expired",
        "not_before_in_the_future",
        "wrong_audience",
        "wrong_recipient",
        "wrong_destination",
        "no_in_response_to",
        "foreign_in_response_to",
    ],
)
def test_bad_assertion_content_is_refused_at_the_acs(client, services, pending, case):
    relay_state, crafter, _ = pending
    changes, reason = cases.CONTENT_CASES[case]
    r = post_to_acs(client, craft.encode(craft.to_bytes(crafter.signed(**changes))), relay_state)
    assert_refused(services, r, f"saml_{reason}")


@sqlite_only
@pytest.mark.parametrize("name", sorted(cases.DOCTYPES))
def test_dtd_bodies_are_refused_at_the_acs(client, services, pending, name):
    relay_state, crafter, _ = pending
    document = cases.DOCTYPES[name] + craft.to_bytes(crafter.signed())
    assert_refused(
        services, post_to_acs(client, craft.encode(document), relay_state), "saml_doctype"
    )


@sqlite_only
def test_bodies_that_do_not_decode_are_refused(client, services, pending):
    relay_state, _, _ = pending
    r = post_to_acs(client, "%%% not base64", relay_state)
    assert_refused(services, r, "saml_bad_encoding")


@sqlite_only
def test_an_oversized_body_is_refused(client, pending):
    relay_state, _, _ = pending
    r = client.post(
        ACS,
        data={"SAMLResponse": "A" * 600_000, "RelayState": relay_state, "handed_over": "1"},
        follow_redirects=False,
    )
    assert r.status_code == 413


def test_a_replayed_assertion_is_refused(client, app, services, pending):
    relay_state, crafter, _ = pending
    document = craft.encode(craft.to_bytes(crafter.signed(assertion_id="_replayed-1")))
    first = post_to_acs(client, document, relay_state)
    assert first.status_code == 303, first.text
    # A captured POST replayed as it was: its round trip is spent.
    assert post_to_acs(client, document, relay_state).status_code == 400
    assert events(services, "federation.rejected")[0].details["reason"] == "state"
    # The same assertion ID in an answer to a new round trip: the replay cache refuses it.
    client.cookies.clear()
    flow = Flow(client, app)
    sso = start_federated(client, "corp", query_of(flow.start().headers["location"])["next"])
    state = query_of(sso)["RelayState"]
    again = crafter.signed(
        assertion_id="_replayed-1", request_id=saml_flow.request_id(services.cookie_secret, state)
    )
    r = post_to_acs(client, craft.encode(craft.to_bytes(again)), state)
    assert_refused(services, r, "saml_replay", identities=1)


@sqlite_only
def test_sha1_from_the_real_idp_is_refused(client, services, pending, idp):
    _, _, sso = pending
    idp.user = okta_user("00u1abcd", "grace@corp.example", ["Everyone"])
    default, idp.algorithms = idp.algorithms, (SIG_RSA_SHA1, DIGEST_SHA1)
    try:
        _, saml_response, relay = idp.respond(urlsplit(sso).query)
    finally:
        idp.algorithms = default
    assert_refused(services, post_to_acs(client, saml_response, relay), "saml_weak_algorithm")


@sqlite_only
def test_another_browser_cannot_use_the_response(client, services, pending, settings):
    relay_state, crafter, _ = pending
    document = craft.encode(craft.to_bytes(crafter.signed()))
    client.cookies.clear()  # the victim's browser: no binding cookie of this round trip
    r = post_to_acs(client, document, relay_state)
    assert r.status_code == 400
    assert events(services, "federation.rejected")[0].details["reason"] == "other_browser"


@sqlite_only
def test_unsolicited_responses_are_refused(client, services, pending):
    _, crafter, _ = pending
    root = crafter.signed(request_id=None, confirmation_in_response_to=None)
    r = post_to_acs(client, craft.encode(craft.to_bytes(root)), "")
    assert r.status_code == 400
    assert events(services, "federation.rejected")[0].details["reason"] == "unsolicited"


@sqlite_only
def test_an_unknown_provider_s_acs_refuses_readably(client):
    # A POST to the ACS of an unknown provider is a readable refusal, never a 500.
    r = client.post(
        "/federation/saml/nope/acs",
        data={
            "SAMLResponse": base64.b64encode(b"<x/>").decode(),
            "RelayState": "x",
            "handed_over": "1",
        },
    )
    assert r.status_code == 400
    assert secret_hash("x")  # the state lookup ran and found nothing


@sqlite_only
def test_a_response_for_another_provider_is_refused(client, services, pending, idp):
    relay_state, crafter, _ = pending
    with services.db.unit_of_work() as uow:
        providers.create(
            uow,
            providers.registry(services),
            "other",
            "saml",
            ProviderConfig(
                display_name="Other",
                settings={"metadata_xml": idp.metadata().decode(), "preset": "okta"},
            ),
            None,
        )
    document = craft.encode(craft.to_bytes(crafter.signed()))
    r = client.post(
        "/federation/saml/other/acs",
        data={"SAMLResponse": document, "RelayState": relay_state, "handed_over": "1"},
        follow_redirects=False,
    )
    assert r.status_code == 400
    assert events(services, "federation.rejected")[0].details["reason"] == "provider_mismatch"
