"""``authserver providers`` with SAML: metadata from a file or an https URL, our SP
metadata printed for the IdP's admin, a certificate rollover by refreshing the metadata."""

from __future__ import annotations

import pytest

from tests import tls
from tests.saml_idp import SamlIdp


@pytest.fixture
def https_idp(tmp_path, monkeypatch):
    ca_file, chain_file = tls.certificates(tmp_path)
    server = SamlIdp(tmp_path, tls_chain=chain_file).start()
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    monkeypatch.setenv("AUTHSERVER_FEDERATION_ALLOW_PRIVATE_NETWORKS", "true")
    yield server
    server.stop()


def test_add_from_a_metadata_file_prints_what_the_idp_needs(cli, https_idp, tmp_path):
    document = tmp_path / "idp.xml"
    document.write_bytes(https_idp.metadata())
    r = cli(
        "providers",
        "add",
        "okta",
        "--kind",
        "saml",
        "--name",
        "Okta",
        "--metadata-file",
        str(document),
        "--preset",
        "okta",
        "--group-role",
        "Admins=admin",
    )
    assert r.code == 0, r.err
    assert "give the IdP our SAML metadata:" in r.out
    assert "http://localhost:8000/federation/saml/okta/metadata" in r.out
    assert "ACS: http://localhost:8000/federation/saml/okta/acs" in r.out
    shown = cli("providers", "show", "okta", "--json").json()
    assert shown["settings"]["entity_id"] == https_idp.entity_id
    assert len(shown["settings"]["signing_certificates"]) == 1
    assert "metadata_xml" not in shown["settings"]


def test_metadata_url_and_a_rollover_by_refreshing_it(cli, https_idp):
    url = https_idp.base + "/metadata"
    r = cli(
        "providers",
        "add",
        "entra",
        "--kind",
        "saml",
        "--name",
        "Entra ID",
        "--metadata-url",
        url,
        "--preset",
        "entra",
        "--json",
    )
    before = r.json()["settings"]["signing_certificates"]
    assert len(before) == 1
    https_idp.published = ("current", "next")  # the IdP announces its next certificate
    after = cli("providers", "update", "entra", "--refresh-metadata", "--json").json()
    assert len(after["settings"]["signing_certificates"]) == 2
    assert before[0] in after["settings"]["signing_certificates"]
    # Other changes keep the certificates (no fetch).
    renamed = cli("providers", "update", "entra", "--name", "Microsoft", "--json").json()
    assert renamed["settings"]["signing_certificates"] == after["settings"]["signing_certificates"]


def test_operator_mistakes_are_one_line(cli, https_idp, tmp_path):
    r = cli(
        "providers",
        "add",
        "x",
        "--kind",
        "saml",
        "--name",
        "X",
        "--metadata-file",
        str(tmp_path / "missing.xml"),
    )
    assert r.code == 2 and "--metadata-file" in r.err
    r = cli(
        "providers",
        "add",
        "x",
        "--kind",
        "saml",
        "--name",
        "X",
        "--metadata-url",
        https_idp.base + "/nothing",
    )
    assert r.code == 2 and "metadata_unavailable" in r.err


def test_the_email_name_id_opt_in(cli, https_idp, tmp_path):
    document = tmp_path / "idp.xml"
    document.write_bytes(https_idp.metadata())
    email = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    add = ("providers", "add", "onelogin", "--kind", "saml", "--name", "OneLogin")
    common = ("--metadata-file", str(document), "--preset", "onelogin", "--name-id-format", email)
    r = cli(*add, *common)
    assert r.code == 2 and "allow_email_name_id" in r.err
    r = cli(*add, *common, "--allow-email-name-id", "--json")
    assert r.code == 0, r.err
    assert r.json()["settings"]["allow_email_name_id"] is True
    r = cli("providers", "update", "onelogin", "--no-allow-email-name-id")
    assert r.code == 2 and "allow_email_name_id" in r.err
