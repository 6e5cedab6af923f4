"""Validating a SAML Response received at our ACS by HTTP-POST (SAML Bindings §3.5,
Profiles §4.1.4.3), down to the signed assertion that ``assertion`` reads.

Order: size and encoding, XML safety, the Response envelope (status, destination,
InResponseTo, issuer), then the signature, then everything inside the signed
assertion. The envelope is outside the assertion's signature, so each envelope check
has a signed twin in ``assertion`` (Recipient, InResponseTo of the bearer confirmation,
the assertion's Issuer); the envelope checks only make a forged envelope fail early."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from authserver.federation.saml import assertion as assertion_rules
from authserver.federation.saml.assertion import Assertion
from authserver.federation.saml.config import IdentityProvider, Policy, ServiceProvider
from authserver.federation.saml.errors import SamlError
from authserver.federation.saml.signature import signed_assertion
from authserver.federation.saml.xml import NS, SAMLP, parse_untrusted, qname, simple_text

STATUS_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"


def decode_post(value: str, policy: Policy) -> bytes:
    """The XML of an HTTP-POST ``SAMLResponse`` (SAML Bindings §3.5.4: base64, not
    deflated)."""
    if len(value) > policy.max_response_bytes * 4 // 3 + 4:
        raise SamlError("too_large", f"{len(value)} characters")
    try:
        document = base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise SamlError("bad_encoding", "SAMLResponse is not base64") from None
    if not document.lstrip().startswith(b"<"):
        raise SamlError("bad_encoding", "SAMLResponse is not XML")
    return document


def validate_response(
    document: bytes,
    *,
    idp: IdentityProvider,
    sp: ServiceProvider,
    request_id: str | None,
    now: datetime,
    policy: Policy,
) -> Assertion:
    """The identity a Response asserts, or ``SamlError``. ``request_id`` is the ID of
    the AuthnRequest this browser has pending; ``None`` means there is none, and an
    unsolicited (IdP-initiated) response is refused (DESIGN: refused by default)."""
    if request_id is None:
        raise SamlError("unsolicited", "no pending AuthnRequest in this browser")
    root = parse_untrusted(document)
    if root.tag != qname(SAMLP, "Response"):
        raise SamlError("not_a_response", str(root.tag)[:100])
    _check_envelope(root, idp=idp, sp=sp, request_id=request_id)
    signed = signed_assertion(root, idp.certificates)
    return assertion_rules.read(
        signed, raw=root, idp=idp, sp=sp, request_id=request_id, now=now, policy=policy
    )


def _check_envelope(root, *, idp: IdentityProvider, sp: ServiceProvider, request_id: str) -> None:
    if root.get("Version") != "2.0":
        raise SamlError("bad_version", str(root.get("Version")))
    status = root.find("samlp:Status/samlp:StatusCode", NS)
    code = status.get("Value") if status is not None else None
    if code != STATUS_SUCCESS:
        # The IdP said no (the user cancelled, or is not assigned to the application).
        raise SamlError("status", str(code).rsplit(":", 1)[-1][:100])
    # SAML Bindings §3.5.5.2: a signed message MUST carry Destination, and it MUST
    # match the URL it was received at. We require it whatever is signed.
    if root.get("Destination") != sp.acs_url:
        raise SamlError("wrong_destination", str(root.get("Destination"))[:200])
    in_response_to = root.get("InResponseTo")
    if in_response_to is None:
        raise SamlError("unsolicited", "the Response has no InResponseTo")
    if in_response_to != request_id:
        raise SamlError("wrong_in_response_to", in_response_to[:100])
    issuer = root.find("saml:Issuer", NS)
    # SAML Profiles §4.1.4.2: the Response's Issuer MAY be omitted; when present it
    # names the IdP.
    if issuer is not None and simple_text(issuer, "issuer") != idp.entity_id:
        raise SamlError("wrong_issuer", "Response Issuer")
