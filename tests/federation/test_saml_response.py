"""Response validation against crafted responses (lxml + signxml) and a real pysaml2 IdP.

Every negative case differs from a response that validates (``test_the_baseline_...``)
in one thing, and asserts the reason the check names: removing that check makes its
case fail (either it passes validation, or another reason is reported)."""

from __future__ import annotations

import base64
import copy
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree
from saml2.xmldsig import DIGEST_SHA1, SIG_RSA_SHA1

from authserver.federation.saml import authn_request, metadata
from authserver.federation.saml.config import IdentityProvider, Policy, service_provider
from authserver.federation.saml.errors import SamlError
from authserver.federation.saml.response import decode_post, validate_response
from tests import saml_crafting as craft
from tests.saml_idp import SamlIdp, entra_user, key_pair, okta_user, onelogin_user

SP = service_provider("https://auth.example.com", "corp")
POLICY = Policy()
IDP_ENTITY = "https://idp.example.net/saml"
REQUEST_ID = "_" + "a" * 40


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> craft.Crafter:
    directory = tmp_path_factory.mktemp("saml-keys")
    _, _, key, cert = key_pair(directory, "idp")
    _, _, other_key, other_cert = key_pair(directory, "other")
    return craft.Crafter(key, cert, other_key, other_cert, shape())


@pytest.fixture(scope="module")
def idp_config(keys) -> IdentityProvider:
    return IdentityProvider(IDP_ENTITY, "https://idp.example.net/sso", (keys.cert,))


def shape(**changes) -> craft.Shape:
    base = craft.Shape(
        idp_entity_id=IDP_ENTITY,
        sp_entity_id=SP.entity_id,
        acs_url=SP.acs_url,
        request_id=REQUEST_ID,
    )
    return base.but(**changes)


def validate(document: bytes, idp: IdentityProvider, request_id: str | None = REQUEST_ID, now=None):
    return validate_response(
        document, idp=idp, sp=SP, request_id=request_id, now=now or datetime.now(UTC), policy=POLICY
    )


def reason_of(document: bytes, idp: IdentityProvider, **kwargs) -> str:
    with pytest.raises(SamlError) as caught:
        validate(document, idp, **kwargs)
    return caught.value.reason


def test_the_baseline_crafted_response_validates(keys, idp_config):
    document = craft.to_bytes(keys.signed())
    result = validate(document, idp_config)
    assert result.name_id == "user-1234"
    assert result.attributes == {"email": ["a@example.com"]}
    assert result.issuer == IDP_ENTITY


# --- XML signature wrapping and signature problems -------------------------------------


def signed(keys: craft.Crafter, **changes):
    return keys.signed(**changes)


def assertion_of(root):
    return root.find(f"{{{craft.SAML}}}Assertion")


def evil(root, name_id="admin@example.com"):
    """An unsigned copy of the signed assertion naming someone else."""
    copy_ = copy.deepcopy(assertion_of(root))
    copy_.remove(copy_.find(f"{{{craft.DS}}}Signature"))
    copy_.find(f".//{{{craft.SAML}}}NameID").text = name_id
    return copy_


def xsw_moved(keys):
    # XSW: the signed assertion hidden in an Extensions element, an unsigned one in its place.
    root = signed(keys)
    original = assertion_of(root)
    fake = evil(root)
    fake.set("ID", craft.new_id())
    extensions = etree.Element(f"{{{craft.SAMLP}}}Extensions")
    root.replace(original, fake)
    extensions.append(original)
    root.insert(1, extensions)
    return root, "assertion_count"


def xsw_second_assertion(keys):
    root = signed(keys)
    fake = evil(root)
    fake.set("ID", craft.new_id())
    root.append(fake)
    return root, "assertion_count"


def xsw_evil_twin_first(keys):
    # The same ID twice: a by-ID lookup may find either; the reader takes the first.
    root = signed(keys)
    root.insert(2, evil(root))
    return root, "assertion_count"


def xsw_inside_signature_object(keys):
    # XSW 7/8: the signed assertion inside the evil one's ds:Signature/ds:Object.
    root = signed(keys)
    original = assertion_of(root)
    fake = evil(root)
    signature = copy.deepcopy(original.find(f"{{{craft.DS}}}Signature"))
    obj = etree.SubElement(signature, f"{{{craft.DS}}}Object")
    root.remove(original)
    obj.append(original)
    fake.find(f"{{{craft.SAML}}}Issuer").addnext(signature)
    root.append(fake)
    return root, "assertion_count"


def xsw_signature_over_other_element(keys):
    # The assertion's signature covers something else (here a signed Extensions element).
    root = craft.response(keys.shape(), craft.assertion(keys.shape()))
    other = etree.Element(f"{{{craft.SAMLP}}}Extensions", ID=craft.new_id())
    etree.SubElement(other, f"{{{craft.SAML}}}Issuer").text = keys.base.idp_entity_id
    signed_other = craft.sign(other, keys.key, keys.cert)
    signature = signed_other.find(f"{{{craft.DS}}}Signature")
    root.insert(2, signed_other)
    assertion_of(root).find(f"{{{craft.SAML}}}Issuer").addnext(copy.deepcopy(signature))
    return root, "signature_reference"


def duplicate_id_elsewhere(keys):
    root = signed(keys)
    twin = etree.Element(f"{{{craft.SAMLP}}}Extensions", ID=assertion_of(root).get("ID"))
    root.insert(2, twin)
    return root, "duplicate_id"


def xsw_only_assertion_wrapped(keys):
    # The one (signed) assertion, but not where a Response keeps it.
    root = signed(keys)
    original = assertion_of(root)
    extensions = etree.Element(f"{{{craft.SAMLP}}}Extensions")
    root.remove(original)
    extensions.append(original)
    root.insert(1, extensions)
    return root, "assertion_position"


def unsigned(keys):
    return craft.response(keys.shape(), craft.assertion(keys.shape())), "unsigned_assertion"


def other_certificate(keys):
    return craft.signed_response(keys.shape(), keys.other_key, keys.other_cert), "bad_signature"


def tampered_after_signing(keys):
    root = signed(keys)
    assertion_of(root).find(f".//{{{craft.SAML}}}NameID").text = "admin@example.com"
    return root, "bad_signature"


def comment_in_name_id(keys):
    # CVE-2017-11427: signed as "victim@example.com.evil.com"; a comment splits it.
    root = signed(keys, name_id="victim@example.com.evil.com")
    name_id = assertion_of(root).find(f".//{{{craft.SAML}}}NameID")
    name_id.text = "victim@example.com"
    comment = etree.Comment("")
    comment.tail = ".evil.com"
    name_id.append(comment)
    return root, "comment_in_assertion"


def encrypted(keys):
    root = signed(keys)
    root.append(etree.Element(f"{{{craft.SAML}}}EncryptedAssertion"))
    return root, "encrypted_assertion"


SIGNATURE_CASES = [
    xsw_moved,
    xsw_second_assertion,
    xsw_evil_twin_first,
    xsw_inside_signature_object,
    xsw_signature_over_other_element,
    xsw_only_assertion_wrapped,
    duplicate_id_elsewhere,
    unsigned,
    other_certificate,
    tampered_after_signing,
    comment_in_name_id,
    encrypted,
]


@pytest.mark.parametrize("case", SIGNATURE_CASES, ids=lambda c: c.__name__)
def test_signature_attacks_are_refused(keys, idp_config, case):
    root, reason = case(keys)
    assert reason_of(craft.to_bytes(root), idp_config) == reason


# --- what the signed assertion says ------------------------------------------------------

NOW = datetime.now(UTC)
CONTENT_CASES = {
    "expired": (dict(issued_at=NOW - timedelta(minutes=20)), "expired"),
    "expired_within_max_age": (
        dict(issued_at=NOW - timedelta(minutes=4), lifetime=timedelta(minutes=1)),
        "expired",
    ),
    "issued_in_the_future": (
        dict(issued_at=NOW + timedelta(minutes=10), not_before_offset=timedelta(minutes=-10)),
        "not_yet_valid",
    ),
    "issued_too_long_ago": (
        dict(issued_at=NOW - timedelta(minutes=20), lifetime=timedelta(hours=1)),
        "expired",
    ),
    "conditions_expired": (
        dict(issued_at=NOW - timedelta(minutes=4), conditions_lifetime=timedelta(minutes=1)),
        "expired",
    ),
    "confirmation_expired": (
        dict(issued_at=NOW - timedelta(minutes=4), confirmation_lifetime=timedelta(minutes=1)),
        "expired",
    ),
    "no_audience_restriction": (dict(audience_restriction=False), "wrong_audience"),
    "envelope_for_another_request": (
        dict(request_id="_" + "d" * 40, confirmation_in_response_to=REQUEST_ID),
        "wrong_in_response_to",
    ),
    "not_before_in_the_future": (dict(not_before_offset=timedelta(minutes=10)), "not_yet_valid"),
    "wrong_audience": (dict(audience="https://other.example.com/metadata"), "wrong_audience"),
    "wrong_recipient": (dict(recipient="https://other.example.com/acs"), "wrong_recipient"),
    "wrong_destination": (dict(destination="https://other.example.com/acs"), "wrong_destination"),
    "no_in_response_to": (dict(request_id=None, confirmation_in_response_to=None), "unsolicited"),
    "foreign_in_response_to": (dict(request_id="_" + "b" * 40), "wrong_in_response_to"),
    "confirmation_for_another_request": (
        dict(confirmation_in_response_to="_" + "c" * 40),
        "wrong_in_response_to",
    ),
    "confirmation_without_in_response_to": (dict(confirmation_in_response_to=None), "unsolicited"),
    "wrong_assertion_issuer": (dict(assertion_issuer="https://evil.example.net"), "wrong_issuer"),
}


@pytest.mark.parametrize("case", sorted(CONTENT_CASES))
def test_assertion_content_is_checked(keys, idp_config, case):
    changes, reason = CONTENT_CASES[case]
    document = craft.to_bytes(signed(keys, **changes))
    assert reason_of(document, idp_config) == reason


@pytest.mark.parametrize("moment", ["2026-02-30T00:00:00Z", "2026-03-01T24:00:00Z"])
def test_an_impossible_time_in_the_signed_assertion_is_a_refusal(keys, idp_config, moment):
    assertion = craft.assertion(shape())
    assertion.set("IssueInstant", moment)
    root = craft.response(shape(), craft.sign(assertion, keys.key, keys.cert))
    assert reason_of(craft.to_bytes(root), idp_config) == "bad_time"


def test_small_clock_skew_is_tolerated(keys, idp_config):
    document = craft.to_bytes(signed(keys, issued_at=datetime.now(UTC) + timedelta(seconds=30)))
    assert validate(document, idp_config).name_id == "user-1234"


def test_no_pending_request_refuses_even_a_valid_response(keys, idp_config):
    document = craft.to_bytes(signed(keys))
    assert reason_of(document, idp_config, request_id=None) == "unsolicited"


def test_a_failed_status_is_refused(keys, idp_config):
    root = craft.response(shape(), None, status="urn:oasis:names:tc:SAML:2.0:status:Responder")
    assert reason_of(craft.to_bytes(root), idp_config) == "status"


# --- bodies that are not SAML ---------------------------------------------------------------

DOCTYPES = {
    "internal_entity": b'<!DOCTYPE r [<!ENTITY x "admin">]>',
    "external_entity": b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
    "billion_laughs": b'<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;">]>',
    "plain_doctype": b"<!DOCTYPE Response>",
}


@pytest.mark.parametrize("name", sorted(DOCTYPES))
def test_dtds_are_refused(keys, idp_config, name):
    document = DOCTYPES[name] + craft.to_bytes(signed(keys))
    assert reason_of(document, idp_config) == "doctype"


def test_a_utf16_doctype_is_refused(keys, idp_config):
    text = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>'
    assert reason_of(text.encode("utf-16"), idp_config) == "doctype"


def test_bodies_that_do_not_decode_are_refused():
    xml = b"<samlp:Response/>"
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = base64.b64encode(deflate.compress(xml) + deflate.flush()).decode()
    for value in ("%%% not base64 %%%", base64.b64encode(b"\x00\x01garbage").decode(), deflated):
        with pytest.raises(SamlError) as caught:
            decode_post(value, POLICY)
        assert caught.value.reason == "bad_encoding"
    with pytest.raises(SamlError) as caught:
        decode_post("A" * (POLICY.max_response_bytes * 2), POLICY)
    assert caught.value.reason == "too_large"


def test_a_declaration_is_refused_before_parsing(idp_config):
    # Not even well-formed after it: the declaration is what is reported.
    assert reason_of(b'<!DOCTYPE x [<!ENTITY a "b">]><unclosed', idp_config) == "doctype"


def test_malformed_xml_is_refused(idp_config):
    assert reason_of(b"<samlp:Response", idp_config) == "malformed_xml"


# --- a real IdP: pysaml2 signing with xmlsec1 ------------------------------------------------


@pytest.fixture(scope="module")
def idp(tmp_path_factory):
    server = SamlIdp(tmp_path_factory.mktemp("saml-idp")).start()
    server.sp_metadata = metadata.sp_metadata(SP)
    yield server
    server.stop()


def round_trip(idp: SamlIdp, config: IdentityProvider):
    request = authn_request.build(config, SP, datetime.now(UTC), "relay")
    action, saml_response, relay = idp.respond(request.redirect_url.split("?", 1)[1])
    assert (action, relay) == (SP.acs_url, "relay")
    return validate(decode_post(saml_response, POLICY), config, request_id=request.request_id)


@pytest.mark.parametrize(
    "user",
    [
        entra_user(
            "0b8e8a2f-1111-2222-3333-444455556666",
            "ada@example.com",
            ["11111111-aaaa-bbbb-cccc-000000000001", "11111111-aaaa-bbbb-cccc-000000000002"],
        ),
        okta_user("00u1abcd", "grace@example.com", ["Everyone", "Engineering"]),
        onelogin_user("kj@example.com", ["Admins", "Staff"]),
    ],
    ids=["entra", "okta", "onelogin"],
)
def test_real_idp_responses_validate(idp, user):
    idp.user = user
    config = metadata.parse_idp_metadata(idp.metadata())
    result = round_trip(idp, config)
    assert result.name_id == user.name_id
    assert result.name_id_format == user.name_id_format
    for name, values in user.attributes.items():
        assert result.attributes[name] == values


def test_certificate_rollover(idp):
    idp.user = okta_user("00u1abcd", "grace@example.com", ["Everyone"])
    idp.published = ("current", "next")
    both = metadata.parse_idp_metadata(idp.metadata())
    assert len(both.certificates) == 2
    idp.signing = "next"
    try:
        assert round_trip(idp, both).name_id == "00u1abcd"
        old = IdentityProvider(both.entity_id, both.sso_url, (idp.certificate("current"),))
        with pytest.raises(SamlError) as caught:
            round_trip(idp, old)
        assert caught.value.reason == "bad_signature"
    finally:
        idp.signing, idp.published = "current", ("current",)


def test_real_idp_sha1_signature_is_refused(idp):
    idp.user = okta_user("00u1abcd", "grace@example.com", ["Everyone"])
    default = idp.algorithms
    idp.algorithms = (SIG_RSA_SHA1, DIGEST_SHA1)
    try:
        with pytest.raises(SamlError) as caught:
            round_trip(idp, metadata.parse_idp_metadata(idp.metadata()))
    finally:
        idp.algorithms = default
    assert caught.value.reason == "weak_algorithm"


def test_the_name_id_format_asked_for_is_required(keys, idp_config):
    from dataclasses import replace

    document = craft.to_bytes(
        signed(keys, name_id_format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress")
    )
    strict = replace(SP, name_id_format=craft.PERSISTENT)
    with pytest.raises(SamlError) as caught:
        validate_response(
            document,
            idp=idp_config,
            sp=strict,
            request_id=REQUEST_ID,
            now=datetime.now(UTC),
            policy=POLICY,
        )
    assert caught.value.reason == "wrong_name_id_format"
