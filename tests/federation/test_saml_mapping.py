"""Subject, profile and group rules of the Entra ID, Okta and OneLogin presets."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from authserver.federation.saml.assertion import Assertion
from authserver.federation.saml.errors import SamlError
from authserver.federation.saml.mapping import PRESETS, AttributeRules, map_assertion
from tests.saml_idp import ENTRA_TENANT, entra_user, okta_user, onelogin_user

OID = "0b8e8a2f-1111-2222-3333-444455556666"
GROUPS = ["11111111-aaaa-bbbb-cccc-000000000001", "11111111-aaaa-bbbb-cccc-000000000002"]


def assertion_for(user) -> Assertion:
    now = datetime.now(UTC)
    return Assertion(
        assertion_id="_x",
        issuer="https://sts.windows.net/t/",
        name_id=user.name_id,
        name_id_format=user.name_id_format,
        attributes=user.attributes,
        session_index=None,
        authn_context=None,
        issued_at=now,
        expires_at=now,
    )


def test_entra_subject_is_tenant_and_object_id_never_the_email():
    rules = replace(PRESETS["entra"], tenant_id=ENTRA_TENANT)
    identity = map_assertion(assertion_for(entra_user(OID, "ada@example.com", GROUPS)), rules)
    assert identity.subject == f"{ENTRA_TENANT}/{OID}"
    assert identity.email == "ada@example.com"
    assert identity.email_verified is False
    assert identity.groups == tuple(GROUPS)
    assert identity.claims()["groups"] == GROUPS


def test_entra_overage_grants_no_groups():
    user = entra_user(OID, "ada@example.com", GROUPS, overage=True)
    identity = map_assertion(assertion_for(user), PRESETS["entra"])
    assert identity.groups is None and identity.groups_overage
    assert "groups" not in identity.claims()


def test_entra_other_tenant_is_refused():
    rules = replace(PRESETS["entra"], tenant_id="00000000-0000-0000-0000-000000000000")
    with pytest.raises(SamlError) as caught:
        map_assertion(assertion_for(entra_user(OID, "a@example.com", [])), rules)
    assert caught.value.reason == "wrong_tenant"


def test_entra_without_object_id_has_no_subject():
    user = entra_user(OID, "a@example.com", [])
    del user.attributes["http://schemas.microsoft.com/identity/claims/objectidentifier"]
    with pytest.raises(SamlError) as caught:
        map_assertion(assertion_for(user), PRESETS["entra"])
    assert caught.value.reason == "no_subject"


def test_okta_multi_valued_groups_and_persistent_name_id():
    identity = map_assertion(
        assertion_for(okta_user("00u1abcd", "g@example.com", ["Everyone", "Eng", "Eng"])),
        PRESETS["okta"],
    )
    assert identity.subject == "00u1abcd"
    assert identity.groups == ("Everyone", "Eng")
    assert (identity.given_name, identity.family_name) == ("Grace", "Hopper")


def test_onelogin_semicolon_groups():
    rules = replace(PRESETS["onelogin"], allow_email_name_id=True)
    identity = map_assertion(
        assertion_for(onelogin_user("kj@example.com", ["Admins", "Staff", ""])), rules
    )
    assert identity.subject == "kj@example.com"
    assert identity.groups == ("Admins", "Staff")


def test_a_transient_name_id_is_no_subject():
    user = okta_user("x", "g@example.com", [])
    user.name_id_format = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
    with pytest.raises(SamlError) as caught:
        map_assertion(assertion_for(user), PRESETS["okta"])
    assert caught.value.reason == "transient_name_id"


@pytest.mark.parametrize("preset", ["okta", "onelogin", ""])
def test_an_email_name_id_is_no_subject_unless_the_provider_opts_in(preset):
    user = onelogin_user("kj@example.com", ["Staff"])  # NameID format emailAddress
    rules = PRESETS.get(preset, AttributeRules())
    with pytest.raises(SamlError) as caught:
        map_assertion(assertion_for(user), rules)
    assert caught.value.reason == "email_name_id"
    opted_in = replace(rules, allow_email_name_id=True)
    assert map_assertion(assertion_for(user), opted_in).subject == "kj@example.com"
    # A subject from an attribute does not use the NameID: its format does not matter.
    by_attribute = replace(rules, subject="attribute", subject_attribute="User.email")
    assert map_assertion(assertion_for(user), by_attribute).subject == "kj@example.com"


def test_no_groups_attribute_means_unknown_groups():
    user = okta_user("x", "g@example.com", [])
    del user.attributes["groups"]
    assert map_assertion(assertion_for(user), PRESETS["okta"]).groups is None


def test_rules_round_trip_through_json():
    rules = PRESETS["entra"]
    assert AttributeRules.from_json(rules.to_json()) == rules
    with pytest.raises(ValueError):
        AttributeRules(subject="email")
