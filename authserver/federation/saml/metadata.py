"""IdP metadata (SAML Metadata §2.4.3) in, and ours (§2.4.4) out.

Import keeps what a login needs: the entity ID, the HTTP-Redirect SingleSignOnService
and every signing certificate (KeyDescriptor use="signing" or without ``use``), so an
IdP that publishes its next certificate beside the current one rolls over with no
downtime once the operator re-imports (or the URL is refreshed)."""

from __future__ import annotations

from cryptography import x509
from lxml import etree

from authserver.federation.saml.config import IdentityProvider, ServiceProvider, load_certificate
from authserver.federation.saml.errors import SamlError
from authserver.federation.saml.xml import (
    BINDING_POST,
    BINDING_REDIRECT,
    DS,
    MD,
    NS,
    parse_untrusted,
    qname,
    simple_text,
)

MAX_METADATA_BYTES = 1024 * 1024
_PROTOCOL = "urn:oasis:names:tc:SAML:2.0:protocol"


def parse_idp_metadata(document: bytes, entity_id: str | None = None) -> IdentityProvider:
    """The IdP described by ``document`` (an EntityDescriptor, or an EntitiesDescriptor
    holding exactly one IdP or the one named ``entity_id``); raises ``SamlError``."""
    if len(document) > MAX_METADATA_BYTES:
        raise SamlError("metadata_too_large", f"{len(document)} bytes")
    root = parse_untrusted(document)
    if root.tag == qname(MD, "EntityDescriptor"):
        candidates = [root]
    elif root.tag == qname(MD, "EntitiesDescriptor"):
        candidates = root.findall(".//md:EntityDescriptor", NS)
    else:
        raise SamlError("not_metadata", str(root.tag)[:100])
    idps = [
        e
        for e in candidates
        if _idp_descriptor(e) is not None and (entity_id is None or e.get("entityID") == entity_id)
    ]
    if len(idps) != 1:
        raise SamlError("metadata_entity", f"{len(idps)} matching identity providers")
    return _identity_provider(idps[0])


def _idp_descriptor(entity: etree._Element) -> etree._Element | None:
    for descriptor in entity.findall("md:IDPSSODescriptor", NS):
        if _PROTOCOL in (descriptor.get("protocolSupportEnumeration") or "").split():
            return descriptor
    return None


def _identity_provider(entity: etree._Element) -> IdentityProvider:
    descriptor = _idp_descriptor(entity)
    assert descriptor is not None
    entity_id = entity.get("entityID") or ""
    if not entity_id or len(entity_id) > 1024:
        raise SamlError("metadata_entity", "no entityID")
    sso = [
        s.get("Location") or ""
        for s in descriptor.findall("md:SingleSignOnService", NS)
        if s.get("Binding") == BINDING_REDIRECT
    ]
    if not sso or not sso[0].startswith(("https://", "http://")):
        raise SamlError("metadata_sso", "no HTTP-Redirect SingleSignOnService")
    certificates: list[x509.Certificate] = []
    for key in descriptor.findall("md:KeyDescriptor", NS):
        if key.get("use") not in (None, "signing"):
            continue
        for cert in key.iterfind(f".//{{{DS}}}X509Certificate"):
            certificates.append(load_certificate(simple_text(cert, "certificate")))
    if not certificates:
        raise SamlError("metadata_certificate", "no signing certificate")
    return IdentityProvider(entity_id, sso[0], tuple(dict.fromkeys(certificates)))


def sp_metadata(sp: ServiceProvider) -> bytes:
    """Our EntityDescriptor for one provider: what the admin uploads to the IdP. We do
    not sign AuthnRequests (no IdP of the three requires it), so no KeyDescriptor; we
    want signed assertions."""
    root = etree.Element(qname(MD, "EntityDescriptor"), nsmap={"md": MD}, entityID=sp.entity_id)
    descriptor = etree.SubElement(
        root,
        qname(MD, "SPSSODescriptor"),
        AuthnRequestsSigned="false",
        WantAssertionsSigned="true",
        protocolSupportEnumeration=_PROTOCOL,
    )
    if sp.name_id_format:
        etree.SubElement(descriptor, qname(MD, "NameIDFormat")).text = sp.name_id_format
    etree.SubElement(
        descriptor,
        qname(MD, "AssertionConsumerService"),
        Binding=BINDING_POST,
        Location=sp.acs_url,
        index="0",
        isDefault="true",
    )
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
