"""IdP metadata import (file and URL, by the safe outbound rules) and our SP metadata."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from authserver.errors import InvalidInput
from authserver.federation import providers
from authserver.federation.config import ProviderConfig
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


@pytest.fixture
def settings(make_settings):
    return make_settings(federation_allow_private_networks=True, federation_timeout=1.0)


@pytest.fixture
def silent_host():
    """A TCP listener on 127.0.0.1 that accepts and never answers (no TLS handshake)."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(timeout=5)
    for sock in accepted:
        sock.close()
    listener.close()


def test_a_metadata_url_is_fetched_within_the_federation_timeout(services, silent_host):
    """Adding a SAML provider (console, admin API, CLI) fetches its metadata within
    AUTHSERVER_FEDERATION_TIMEOUT (here 1 s), not a fixed 10 s: a host that never answers
    is refused readably, and nothing is stored."""
    config = ProviderConfig(
        display_name="Slow IdP", settings={"metadata_url": silent_host + "/metadata"}
    )
    started = time.monotonic()
    with services.db.unit_of_work() as uow, pytest.raises(InvalidInput) as caught:
        providers.create(uow, providers.registry(services), "slow", "saml", config, None)
    assert time.monotonic() - started < 1.0 + 1.5
    assert "metadata_unavailable" in str(caught.value)
    with services.db.unit_of_work() as uow:
        assert uow.providers.get("slow") is None


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
