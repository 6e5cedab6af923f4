"""The ``saml`` provider kind through the admin API: IdP metadata imported (document),
settings checked, our SP metadata published per provider."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from tests.federation.test_provider_registry import admin_http  # noqa: F401 - fixture
from tests.saml_idp import SamlIdp

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"


@pytest.fixture(scope="module")
def idp(tmp_path_factory):
    server = SamlIdp(tmp_path_factory.mktemp("saml-idp"))  # metadata only: not started
    server.published = ("current", "next")
    yield server
    server.stop()


@pytest.fixture
def settings(make_settings):
    # The test IdP is http on loopback.
    return make_settings(federation_allow_private_networks=True)


def saml_provider(idp, **settings):
    return {
        "id": "okta",
        "kind": "saml",
        "display_name": "Okta",
        "settings": {"metadata_xml": idp.metadata().decode(), "preset": "okta", **settings},
        "mapping": {"group_roles": {"Admins": ["admin"]}},
    }


def b64(cert) -> str:
    return base64.b64encode(cert.public_bytes(Encoding.DER)).decode()


def test_a_saml_provider_from_metadata(admin_http, idp):  # noqa: F811
    r = admin_http.post("/admin/providers", json=saml_provider(idp))
    assert r.status_code == 201, r.text
    out = r.json()
    settings = out["settings"]
    assert settings["entity_id"] == idp.entity_id
    assert settings["sso_url"] == idp.base + "/sso"
    assert sorted(settings["signing_certificates"]) == sorted(
        [b64(idp.certificate("current")), b64(idp.certificate("next"))]
    )
    assert settings.get("metadata_xml") is None  # read, then dropped
    assert out["sp_metadata_url"] == "http://localhost:8000/federation/saml/okta/metadata"
    assert out["redirect_uri"] == "http://localhost:8000/federation/saml/okta/acs"

    r = admin_http.get("/federation/saml/okta/metadata")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/samlmetadata+xml")
    root = etree.fromstring(r.content)
    assert root.get("entityID") == out["sp_metadata_url"]
    acs = root.find(f"{{{MD}}}SPSSODescriptor/{{{MD}}}AssertionConsumerService")
    assert acs.get("Location") == out["redirect_uri"]
    # The okta preset asks for (and then requires) a persistent NameID.
    name_id_format = root.find(f"{{{MD}}}SPSSODescriptor/{{{MD}}}NameIDFormat")
    assert name_id_format.text == "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
    assert admin_http.get("/federation/saml/nope/metadata").status_code == 404


def test_explicit_settings_without_metadata(admin_http, idp):  # noqa: F811
    body = saml_provider(idp)
    body["settings"] = {
        "entity_id": "https://idp.example.net",
        "sso_url": "https://idp.example.net/sso",
        "signing_certificates": [b64(idp.certificate())],
        "preset": "entra",
        "tenant": "72F988BF-86F1-41AF-91AB-2D7CD011DB47",
    }
    r = admin_http.post("/admin/providers", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["settings"]["tenant"] == "72F988BF-86F1-41AF-91AB-2D7CD011DB47"


@pytest.mark.parametrize(
    "changes, problem",
    [
        ({"metadata_xml": None}, "entity_id is required"),
        ({"client_id": "x"}, "client_id is not for saml"),
        ({"metadata_xml": "<x>"}, "IdP metadata"),
        ({"metadata_xml": '<!DOCTYPE x [<!ENTITY e "1">]><x/>'}, "doctype"),
        ({"signing_certificates": ["bm90IGEgY2VydA=="], "metadata_xml": None}, "entity_id"),
        ({"metadata_url": "http://idp.example.net/metadata"}, "must use https"),
        ({"subject": "attribute"}, "subject_attribute"),
        ({"tenant": "common"}, "tenant id (GUID)"),
        ({"name_id_format": EMAIL, "preset": "onelogin"}, "allow_email_name_id"),
        ({"allow_email_name_id": "yes please"}, "allow_email_name_id"),
    ],
)
def test_bad_saml_settings_are_refused(admin_http, idp, changes, problem):  # noqa: F811
    body = saml_provider(idp, **changes)
    r = admin_http.post("/admin/providers", json=body)
    assert r.status_code == 400, r.text
    assert problem in r.json()["error_description"]


def test_an_email_name_id_format_with_the_opt_in(admin_http, idp):  # noqa: F811
    body = saml_provider(idp, preset="onelogin", name_id_format=EMAIL, allow_email_name_id=True)
    r = admin_http.post("/admin/providers", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["settings"]["allow_email_name_id"] is True


def test_saml_settings_on_another_kind_are_refused(admin_http):  # noqa: F811
    body = {
        "id": "corp",
        "kind": "oidc",
        "display_name": "Corp",
        "settings": {"issuer": "https://idp.corp.example", "client_id": "a", "preset": "okta"},
    }
    r = admin_http.post("/admin/providers", json=body)
    assert r.status_code == 400
    assert "preset is for saml providers" in r.json()["error_description"]
