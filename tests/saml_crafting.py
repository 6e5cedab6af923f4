"""SAML Responses built with lxml and signed with signxml in the tests: the crafted
inputs of the negative tests (each differing from a valid response in one thing)."""

from __future__ import annotations

import base64
import copy
import secrets
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from lxml import etree
from signxml import XMLSigner

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"


def instant(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_id() -> str:
    return "_" + secrets.token_hex(16)


@dataclass(frozen=True)
class Shape:
    """Everything a response says; a negative test changes one field."""

    idp_entity_id: str
    sp_entity_id: str
    acs_url: str
    request_id: str | None
    name_id: str = "user-1234"
    name_id_format: str = PERSISTENT
    issued_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    lifetime: timedelta = timedelta(minutes=5)
    not_before_offset: timedelta = timedelta(0)
    audience: str | None = None  # default: sp_entity_id
    recipient: str | None = None  # default: acs_url
    destination: str | None = None  # default: acs_url
    confirmation_in_response_to: str | None = "same"
    attributes: dict[str, list[str]] = field(default_factory=lambda: {"email": ["a@example.com"]})
    assertion_issuer: str | None = None  # default: idp_entity_id
    assertion_id: str | None = None  # default: a fresh one
    audience_restriction: bool = True
    conditions_lifetime: timedelta | None = None  # default: lifetime
    confirmation_lifetime: timedelta | None = None  # default: lifetime

    def but(self, **changes) -> Shape:
        return replace(self, **changes)


def assertion(shape: Shape) -> etree._Element:
    now = shape.issued_at
    element = etree.Element(
        f"{{{SAML}}}Assertion",
        nsmap={"saml": SAML},
        ID=shape.assertion_id or new_id(),
        Version="2.0",
        IssueInstant=instant(now),
    )
    etree.SubElement(element, f"{{{SAML}}}Issuer").text = (
        shape.assertion_issuer or shape.idp_entity_id
    )
    subject = etree.SubElement(element, f"{{{SAML}}}Subject")
    name_id = etree.SubElement(subject, f"{{{SAML}}}NameID", Format=shape.name_id_format)
    name_id.text = shape.name_id
    confirmation = etree.SubElement(subject, f"{{{SAML}}}SubjectConfirmation", Method=BEARER)
    data = etree.SubElement(
        confirmation,
        f"{{{SAML}}}SubjectConfirmationData",
        NotOnOrAfter=instant(now + (shape.confirmation_lifetime or shape.lifetime)),
        Recipient=shape.recipient or shape.acs_url,
    )
    irt = (
        shape.request_id
        if shape.confirmation_in_response_to == "same"
        else shape.confirmation_in_response_to
    )
    if irt is not None:
        data.set("InResponseTo", irt)
    conditions = etree.SubElement(
        element,
        f"{{{SAML}}}Conditions",
        NotBefore=instant(now + shape.not_before_offset),
        NotOnOrAfter=instant(now + (shape.conditions_lifetime or shape.lifetime)),
    )
    if shape.audience_restriction:
        restriction = etree.SubElement(conditions, f"{{{SAML}}}AudienceRestriction")
        audience = etree.SubElement(restriction, f"{{{SAML}}}Audience")
        audience.text = shape.audience or shape.sp_entity_id
    statement = etree.SubElement(
        element, f"{{{SAML}}}AuthnStatement", AuthnInstant=instant(now), SessionIndex=new_id()
    )
    context = etree.SubElement(statement, f"{{{SAML}}}AuthnContext")
    etree.SubElement(
        context, f"{{{SAML}}}AuthnContextClassRef"
    ).text = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
    attributes = etree.SubElement(element, f"{{{SAML}}}AttributeStatement")
    for name, values in shape.attributes.items():
        attribute = etree.SubElement(attributes, f"{{{SAML}}}Attribute", Name=name)
        for value in values:
            etree.SubElement(attribute, f"{{{SAML}}}AttributeValue").text = value
    return element


def sign(element: etree._Element, key, cert) -> etree._Element:
    """``element`` with an enveloped RSA-SHA256 signature after its Issuer (SAML's
    schema order), over exclusive c14n, the way Entra ID, Okta and OneLogin sign."""
    placeholder = etree.Element(f"{{{DS}}}Signature", nsmap={"ds": DS}, Id="placeholder")
    element.find(f"{{{SAML}}}Issuer").addnext(placeholder)
    signer = XMLSigner(c14n_algorithm=EXC_C14N)
    signed = signer.sign(element, key=key, cert=[cert], reference_uri="#" + element.get("ID"))
    return signed


def response(
    shape: Shape, assertion_element: etree._Element | None, status: str = SUCCESS
) -> etree._Element:
    root = etree.Element(
        f"{{{SAMLP}}}Response",
        nsmap={"samlp": SAMLP, "saml": SAML},
        ID=new_id(),
        Version="2.0",
        IssueInstant=instant(shape.issued_at),
        Destination=shape.destination or shape.acs_url,
    )
    if shape.request_id is not None:
        root.set("InResponseTo", shape.request_id)
    etree.SubElement(root, f"{{{SAML}}}Issuer").text = shape.idp_entity_id
    status_element = etree.SubElement(root, f"{{{SAMLP}}}Status")
    etree.SubElement(status_element, f"{{{SAMLP}}}StatusCode", Value=status)
    if assertion_element is not None:
        root.append(copy.deepcopy(assertion_element))
    return root


def signed_response(shape: Shape, key, cert) -> etree._Element:
    return response(shape, sign(assertion(shape), key, cert))


def to_bytes(root: etree._Element) -> bytes:
    return etree.tostring(root)


def encode(document: bytes) -> str:
    return base64.b64encode(document).decode()


@dataclass(frozen=True)
class Crafter:
    """Signs crafted responses as the IdP (``key``/``cert``) or as a stranger."""

    key: object
    cert: object
    other_key: object
    other_cert: object
    base: Shape

    def shape(self, **changes) -> Shape:
        return self.base.but(**changes)

    def signed(self, **changes) -> etree._Element:
        return signed_response(self.shape(**changes), self.key, self.cert)
