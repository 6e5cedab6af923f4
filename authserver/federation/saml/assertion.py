"""Reading a signed assertion (SAML Core §2, Profiles §4.1.4.2-3): every element read
here comes from the signature-covered copy ``signature.signed_assertion`` returned."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from authserver.federation.saml.config import IdentityProvider, Policy, ServiceProvider
from authserver.federation.saml.errors import SamlError
from authserver.federation.saml.xml import NS, SAML, XSI, parse_instant, qname, simple_text

BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
MAX_ATTRIBUTES = 200
MAX_VALUES = 2000
MAX_VALUE_CHARS = 2048
# Conditions we understand; SAML Core §2.5.1: any other makes the assertion
# "Indeterminate", which we treat as invalid.
_KNOWN_CONDITIONS = {qname(SAML, "AudienceRestriction"), qname(SAML, "OneTimeUse")}


@dataclass(frozen=True)
class Assertion:
    """What a validated assertion says. ``expires_at`` is the last moment it could
    still be accepted: how long its ID must stay in the replay cache."""

    assertion_id: str
    issuer: str
    name_id: str
    name_id_format: str | None
    attributes: dict[str, list[str]]
    session_index: str | None
    authn_context: str | None
    issued_at: datetime
    expires_at: datetime
    # AuthnStatement/@AuthnInstant: when the IdP authenticated the person (None: the
    # statement did not say; SAML Core §2.7.2 makes it required).
    authn_instant: datetime | None = None

    def summary(self) -> dict[str, object]:
        """What the operator may see of it (``providers test``): no signature, no XML."""
        return {
            "issuer": self.issuer,
            "name_id": self.name_id,
            "name_id_format": self.name_id_format,
            "attributes": self.attributes,
            "authn_context": self.authn_context,
            "issued_at": self.issued_at.isoformat(),
        }


def read(
    signed: etree._Element,
    *,
    raw: etree._Element,
    idp: IdentityProvider,
    sp: ServiceProvider,
    request_id: str,
    now: datetime,
    policy: Policy,
) -> Assertion:
    """Check and read ``signed``; ``raw`` is the received Response, consulted only for
    what canonicalization removed from ``signed`` (comments)."""
    _refuse_comments(raw)
    if signed.get("Version") != "2.0":
        raise SamlError("bad_version", "assertion version")
    issuer = signed.find("saml:Issuer", NS)
    # SAML Core §2.3.3: an assertion MUST have an Issuer; ours must be the IdP's entity ID.
    if issuer is None or simple_text(issuer, "issuer") != idp.entity_id:
        raise SamlError("wrong_issuer", "assertion Issuer")
    skew = policy.clock_skew
    issued_at = parse_instant(signed.get("IssueInstant"), "IssueInstant")
    if issued_at > now + skew:
        raise SamlError("not_yet_valid", "IssueInstant in the future")
    if issued_at < now - policy.max_assertion_age - skew:
        raise SamlError("expired", "issued too long ago")
    conditions_end = _check_conditions(signed, sp=sp, now=now, policy=policy)
    name_id, name_id_format, confirmation_end = _check_subject(
        signed, sp=sp, request_id=request_id, now=now, policy=policy
    )
    session_index, authn_context, authn_instant = _check_authn_statement(
        signed, now=now, policy=policy
    )
    expires_at = min(
        t for t in (conditions_end, confirmation_end, issued_at + policy.max_assertion_age) if t
    )
    return Assertion(
        assertion_id=str(signed.get("ID")),
        issuer=idp.entity_id,
        name_id=name_id,
        name_id_format=name_id_format,
        attributes=_attributes(signed),
        session_index=session_index,
        authn_context=authn_context,
        issued_at=issued_at,
        expires_at=expires_at + skew,
        authn_instant=authn_instant,
    )


def _refuse_comments(raw: etree._Element) -> None:
    assertion = raw.find("saml:Assertion", NS)
    if assertion is not None and assertion.xpath(
        "boolean(descendant::comment() | descendant::processing-instruction())"
    ):
        raise SamlError("comment_in_assertion", "comments or processing instructions")


def _check_conditions(
    signed, *, sp: ServiceProvider, now: datetime, policy: Policy
) -> datetime | None:
    conditions = signed.find("saml:Conditions", NS)
    if conditions is None:
        # Profiles §4.1.4.2: the assertion MUST contain an AudienceRestriction.
        raise SamlError("wrong_audience", "no Conditions")
    skew = policy.clock_skew
    not_before = conditions.get("NotBefore")
    if not_before is not None and parse_instant(not_before, "NotBefore") > now + skew:
        raise SamlError("not_yet_valid", "Conditions NotBefore")
    end = conditions.get("NotOnOrAfter")
    not_on_or_after = parse_instant(end, "NotOnOrAfter") if end is not None else None
    if not_on_or_after is not None and now >= not_on_or_after + skew:
        raise SamlError("expired", "Conditions NotOnOrAfter")
    restrictions = 0
    for condition in conditions:
        if not isinstance(condition.tag, str) or condition.tag not in _KNOWN_CONDITIONS:
            raise SamlError("unknown_condition", str(condition.tag)[:100])
        if condition.tag == qname(SAML, "AudienceRestriction"):
            restrictions += 1
            audiences = [simple_text(a, "audience") for a in condition.findall("saml:Audience", NS)]
            # SAML Core §2.5.1.4: we must be among the audiences of every restriction.
            if sp.entity_id not in audiences:
                raise SamlError("wrong_audience", ", ".join(audiences)[:200])
    if not restrictions:
        raise SamlError("wrong_audience", "no AudienceRestriction")
    return not_on_or_after


def _check_subject(
    signed, *, sp: ServiceProvider, request_id: str, now: datetime, policy: Policy
) -> tuple[str, str | None, datetime]:
    subject = signed.find("saml:Subject", NS)
    name_id = subject.find("saml:NameID", NS) if subject is not None else None
    if name_id is None:
        raise SamlError("no_subject", "no NameID")
    value = simple_text(name_id, "name_id")
    if not value or len(value) > 256:
        raise SamlError("bad_name_id", "empty or too long")
    name_id_format = name_id.get("Format")
    if sp.name_id_format and name_id_format != sp.name_id_format:
        raise SamlError("wrong_name_id_format", str(name_id_format)[:200])
    failure = SamlError("no_bearer_confirmation", "no bearer SubjectConfirmation")
    for confirmation in subject.findall("saml:SubjectConfirmation", NS):
        if confirmation.get("Method") != BEARER:
            continue
        try:
            end = _check_bearer(confirmation, sp=sp, request_id=request_id, now=now, policy=policy)
        except SamlError as exc:
            failure = exc
        else:
            return value, name_id_format, end
    raise failure


def _check_bearer(
    confirmation, *, sp: ServiceProvider, request_id: str, now: datetime, policy: Policy
) -> datetime:
    # Profiles §4.1.4.2: the bearer SubjectConfirmationData MUST carry Recipient (our ACS),
    # NotOnOrAfter, and InResponseTo when the assertion answers a request.
    data = confirmation.find("saml:SubjectConfirmationData", NS)
    if data is None:
        raise SamlError("wrong_recipient", "no SubjectConfirmationData")
    if data.get("Recipient") != sp.acs_url:
        raise SamlError("wrong_recipient", str(data.get("Recipient"))[:200])
    in_response_to = data.get("InResponseTo")
    if in_response_to is None:
        raise SamlError("unsolicited", "the bearer confirmation has no InResponseTo")
    if in_response_to != request_id:
        raise SamlError("wrong_in_response_to", in_response_to[:100])
    not_before = data.get("NotBefore")
    if not_before is not None and parse_instant(not_before, "NotBefore") > now + policy.clock_skew:
        raise SamlError("not_yet_valid", "SubjectConfirmationData NotBefore")
    end = parse_instant(data.get("NotOnOrAfter"), "SubjectConfirmationData NotOnOrAfter")
    if now >= end + policy.clock_skew:
        raise SamlError("expired", "SubjectConfirmationData NotOnOrAfter")
    return end


def _check_authn_statement(
    signed, *, now: datetime, policy: Policy
) -> tuple[str | None, str | None, datetime | None]:
    statement = signed.find("saml:AuthnStatement", NS)
    # Profiles §4.1.4.2: at least one AuthnStatement.
    if statement is None:
        raise SamlError("no_authn_statement", "no AuthnStatement")
    session_end = statement.get("SessionNotOnOrAfter")
    if session_end is not None and now >= parse_instant(session_end, "SessionNotOnOrAfter"):
        raise SamlError("expired", "SessionNotOnOrAfter")
    context = statement.find("saml:AuthnContext/saml:AuthnContextClassRef", NS)
    instant = statement.get("AuthnInstant")
    return (
        statement.get("SessionIndex"),
        simple_text(context, "authn_context") if context is not None else None,
        parse_instant(instant, "AuthnInstant") if instant is not None else None,
    )


def _attributes(signed) -> dict[str, list[str]]:
    attributes: dict[str, list[str]] = {}
    count = 0
    for attribute in signed.iterfind("saml:AttributeStatement/saml:Attribute", NS):
        name = attribute.get("Name")
        if not name or len(name) > 512:
            raise SamlError("bad_attribute", "attribute without a usable Name")
        values = attributes.setdefault(name, [])
        for value in attribute.findall("saml:AttributeValue", NS):
            if value.get(qname(XSI, "nil")) in ("true", "1"):
                continue
            text = simple_text(value, "attribute_value") if len(value) or value.text else ""
            if len(text) > MAX_VALUE_CHARS:
                raise SamlError("bad_attribute", f"{name}: value too long")
            values.append(text)
            count += 1
        if len(attributes) > MAX_ATTRIBUTES or count > MAX_VALUES:
            raise SamlError("bad_attribute", "too many attributes or values")
    return attributes
