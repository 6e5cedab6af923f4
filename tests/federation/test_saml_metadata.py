"""IdP metadata import (file and URL, by the safe outbound rules) and our SP metadata."""

from __future__ import annotations

import pytest

from authserver.federation.saml import metadata
from authserver.federation.saml.config import service_provider
from authserver.federation.saml.errors import SamlError
from authserver.federation.saml.metadata_fetch import fetch_idp_metadata
from tests import tls
from tests.saml_idp import SamlIdp

MD = "urn:oasis:names:tc:SAML:2.0:metadata"


@pytest.fixture(scope="module")
def https_idp(tmp_path_factory):
    directory = tmp_path_factory.mktemp("saml-https-idp")
    ca_file, chain_file = tls.certificates(directory)
    server = SamlIdp(directory, tls_chain=chain_file).start()
    server.published = ("current", "next")
    yield server, ca_file
    server.stop()


def reason(call, *args, **kwargs) -> str:
    with pytest.raises(SamlError) as caught:
        call(*args, **kwargs)
    return caught.value.reason


def test_metadata_from_an_https_url_keeps_every_signing_certificate(https_idp, monkeypatch):
    server, ca_file = https_idp
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    idp = fetch_idp_metadata(server.base + "/metadata", allow_private_networks=True)
    assert idp.entity_id == server.entity_id
    assert idp.sso_url == server.base + "/sso"
    assert set(idp.certificates) == {server.certificate("current"), server.certificate("next")}


def test_metadata_url_rules(https_idp, monkeypatch):
    server, ca_file = https_idp
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    # A loopback address is refused unless private networks are allowed (SSRF).
    assert reason(fetch_idp_metadata, server.base + "/metadata") == "metadata_unavailable"
    http_url = server.base.replace("https:", "http:") + "/metadata"
    assert reason(fetch_idp_metadata, http_url, allow_private_networks=True) == (
        "metadata_unavailable"
    )
    missing = server.base + "/nothing-here"
    assert reason(fetch_idp_metadata, missing, allow_private_networks=True) == (
        "metadata_unavailable"
    )


def idp_entity(entity_id: str, sso: bool = True, use: str = "signing", cert: str = "") -> str:
    service = (
        '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
        f'Location="https://{entity_id}/sso"/>'
        if sso
        else ""
    )
    return (
        f'<md:EntityDescriptor entityID="https://{entity_id}">'
        '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
        f'<md:KeyDescriptor use="{use}"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">'
        f"<ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data>"
        f"</ds:KeyInfo></md:KeyDescriptor>{service}</md:IDPSSODescriptor></md:EntityDescriptor>"
    )


@pytest.fixture(scope="module")
def cert_b64(https_idp):
    server, _ = https_idp
    import base64

    from cryptography.hazmat.primitives.serialization import Encoding

    return base64.b64encode(server.certificate().public_bytes(Encoding.DER)).decode()


def wrap(*entities: str) -> bytes:
    inner = "".join(entities)
    return f'<md:EntitiesDescriptor xmlns:md="{MD}">{inner}</md:EntitiesDescriptor>'.encode()


def test_an_aggregate_needs_the_entity_id(cert_b64):
    document = wrap(idp_entity("a.example", cert=cert_b64), idp_entity("b.example", cert=cert_b64))
    assert reason(metadata.parse_idp_metadata, document) == "metadata_entity"
    chosen = metadata.parse_idp_metadata(document, entity_id="https://b.example")
    assert chosen.sso_url == "https://b.example/sso"


def test_metadata_without_what_a_login_needs_is_refused(cert_b64):
    no_sso = wrap(idp_entity("a.example", sso=False, cert=cert_b64))
    assert reason(metadata.parse_idp_metadata, no_sso) == "metadata_sso"
    encryption_only = wrap(idp_entity("a.example", use="encryption", cert=cert_b64))
    assert reason(metadata.parse_idp_metadata, encryption_only) == "metadata_certificate"
    bad_cert = wrap(idp_entity("a.example", cert="bm90IGEgY2VydA=="))
    assert reason(metadata.parse_idp_metadata, bad_cert) == "bad_certificate"
    doctype = b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + wrap()
    assert reason(metadata.parse_idp_metadata, doctype) == "doctype"


def test_sp_metadata_names_our_entity_and_acs():
    sp = service_provider("https://auth.example.com/", "okta", name_id_format="urn:x")
    document = metadata.sp_metadata(sp).decode()
    assert 'entityID="https://auth.example.com/federation/saml/okta/metadata"' in document
    assert 'Location="https://auth.example.com/federation/saml/okta/acs"' in document
    assert "bindings:HTTP-POST" in document
    assert 'WantAssertionsSigned="true"' in document
    assert "<md:NameIDFormat>urn:x</md:NameIDFormat>" in document
