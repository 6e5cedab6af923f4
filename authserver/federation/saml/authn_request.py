"""The AuthnRequest we send by HTTP-Redirect (SAML Core §3.4.1, Bindings §3.4)."""

from __future__ import annotations

import base64
import secrets
import zlib
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode, urlsplit

from lxml import etree

from authserver.federation.saml.config import IdentityProvider, ServiceProvider
from authserver.federation.saml.xml import BINDING_POST, SAML, SAMLP, format_instant, qname


@dataclass(frozen=True)
class AuthnRequest:
    request_id: str
    redirect_url: str


def new_request_id() -> str:
    # SAML Core §1.3.4: an xs:ID (must not start with a digit) with >= 128 bits of randomness.
    return "_" + secrets.token_hex(20)


def build(
    idp: IdentityProvider,
    sp: ServiceProvider,
    now: datetime,
    relay_state: str,
    request_id: str | None = None,
    force_authn: bool = False,
) -> AuthnRequest:
    """An AuthnRequest for ``idp`` and the URL that carries it there (Bindings §3.4.3:
    RelayState at most 80 bytes)."""
    request_id = request_id or new_request_id()
    root = etree.Element(
        qname(SAMLP, "AuthnRequest"),
        nsmap={"samlp": SAMLP, "saml": SAML},
        ID=request_id,
        Version="2.0",
        IssueInstant=format_instant(now),
        Destination=idp.sso_url,
        AssertionConsumerServiceURL=sp.acs_url,
        ProtocolBinding=BINDING_POST,
    )
    if force_authn:
        root.set("ForceAuthn", "true")
    etree.SubElement(root, qname(SAML, "Issuer")).text = sp.entity_id
    policy = etree.SubElement(root, qname(SAMLP, "NameIDPolicy"), AllowCreate="true")
    if sp.name_id_format:
        policy.set("Format", sp.name_id_format)
    xml = etree.tostring(root)
    # Bindings §3.4.4.1: DEFLATE (raw, RFC 1951), then base64, then URL-encoding.
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = compressor.compress(xml) + compressor.flush()
    query = urlencode(
        {"SAMLRequest": base64.b64encode(deflated).decode(), "RelayState": relay_state}
    )
    separator = "&" if urlsplit(idp.sso_url).query else "?"
    return AuthnRequest(request_id, idp.sso_url + separator + query)
