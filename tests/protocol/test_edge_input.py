"""Input at the edge of every endpoint: odd characters, overlong values, deep JSON, JSON
nulls, stray slashes. Each is a standard 400 (or 404) that changes nothing, on SQLite
and on PostgreSQL (which refuses NUL in text and overlong values, where SQLite keeps
them): never a 500 and never a redirect elsewhere."""

from __future__ import annotations

import base64
import json

import pytest

from authserver.oauth import registration as dcr
from tests.oidc import REDIRECT, Flow
from tests.protocol.test_bad_input import snapshot

DEEP = "[" * 5000 + "]" * 5000
# Deep past the recursion limit, yet short enough for a JWT we would read (8192 chars).
DEEP_SEGMENT = "[" * 2500 + "]" * 2500


@pytest.fixture
def web_app(factory):
    return factory.client(
        grant_types=["authorization_code"],
        scope="openid email",
        redirect_uris=[REDIRECT],
        first_party=True,
    )


@pytest.fixture
def initial_token(services):
    with services.db.unit_of_work() as uow:
        return dcr.issue_initial_token(uow, services.clock, "tests", 3600)


@pytest.fixture
def admin_token(client, factory):
    app = factory.password_client(scope="openid admin")
    admin = factory.user(role="admin")
    r = client.post(
        "/token",
        auth=app.basic_auth,
        data={"grant_type": "password", "username": admin.email, "password": admin.password},
    )
    return r.json()["access_token"]


def _b64(data: str) -> str:
    return base64.urlsafe_b64encode(data.encode()).rstrip(b"=").decode()


# --- item 10: parameters Authlib would quote in an error --------------------------------


@pytest.mark.parametrize("response_type", ['"', "\\", "code\\", "é", "\x01", "code\x00", "a  b"])
def test_a_malformed_response_type_is_a_400_page(client, services, web_app, response_type):
    before = snapshot(services)
    r = Flow(client, web_app).start(response_type=response_type)
    assert r.status_code == 400 and "location" not in r.headers
    # Control characters are refused with the URL, the rest by the parameter's syntax.
    assert "response_type parameter" in r.text or "control characters" in r.text
    assert snapshot(services) == before


@pytest.mark.parametrize("grant_type", ['"', "client_credentials\\", "é"])
def test_a_malformed_grant_type_is_invalid_request(client, factory, grant_type):
    app = factory.client()
    r = client.post("/token", data={"grant_type": grant_type}, auth=app.basic_auth)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


# --- item 11: deep JSON -------------------------------------------------------------------


def test_deep_json_bodies_are_400(client, services, initial_token):
    before = snapshot(services)
    r = client.post("/register", content=DEEP, headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    assert "nested too deeply" in r.json()["error_description"]
    r = client.post(
        "/oauth/register",
        content=DEEP,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {initial_token}"},
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_client_metadata"
    # Deep, but inside an object: the same answer.
    nested = '{"client_name": "x", "jwks": {"keys": ' + DEEP + "}}"
    r = client.post(
        "/oauth/register",
        content=nested,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {initial_token}"},
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_client_metadata"
    assert snapshot(services) == before


def test_deep_jwts_are_refused_not_a_500(client, factory, web_app):
    """A client assertion, whose payload Authlib parses before any signature check (to
    find the client). Access tokens and ID token hints are guarded too (joserfc parses
    only headers under 512 bytes, and payloads once their signature verified)."""
    app = factory.client()
    deep_header = f"{_b64(DEEP_SEGMENT)}.{_b64('{}')}.c2ln"
    deep_payload = f"{_b64(json.dumps({'alg': 'RS256'}))}.{_b64(DEEP_SEGMENT)}.c2ln"
    for assertion in (deep_header, deep_payload):
        r = client.post(
            "/token",
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion,
            },
        )
        assert r.status_code == 401 and r.json()["error"] == "invalid_client"
        r = client.post("/introspect", data={"token": assertion}, auth=app.basic_auth)
        assert r.status_code == 200 and r.json() == {"active": False}
        r = client.get("/userinfo", headers={"Authorization": f"Bearer {assertion}"})
        assert r.status_code == 401
        r = client.get("/logout", params={"id_token_hint": assertion}, follow_redirects=False)
        assert r.status_code == 400


# --- item 12: NUL bytes and overlong values (PostgreSQL refuses them) ----------------------


def test_nul_bytes_and_overlong_values_are_400_and_change_nothing(
    client, services, factory, web_app, admin_token
):
    user = factory.user()
    app = factory.password_client()
    before = snapshot(services)
    before.pop("audit_events")
    # client_id in the form, in HTTP Basic, at /authorize.
    r = client.post("/token", data={"grant_type": "client_credentials", "client_id": "a\x00b"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    r = client.post("/token", data={"grant_type": "client_credentials"}, auth=("a\x00b", "s"))
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = client.get("/authorize", params={"client_id": "x\x00", "response_type": "code"})
    assert r.status_code == 400
    # A password-grant username, a login e-mail.
    r = client.post(
        "/token",
        auth=app.basic_auth,
        data={"grant_type": "password", "username": user.email + "\x00", "password": "x"},
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    page = client.get("/login")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post(
        "/login", data={"csrf_token": csrf, "email": "a\x00@example.com", "password": "x"}
    )
    assert r.status_code == 400 and "control characters" in r.text
    # A nonce with a NUL, and one longer than its column.
    flow = Flow(client, web_app)
    r = flow.start(nonce="n" * 513)
    assert r.status_code == 400 and "The nonce parameter is too long" in r.text
    r = client.post("/authorize", data={**flow.params, "nonce": "n\x00"})
    assert r.status_code == 400 and "The nonce parameter contains control" in r.text
    r = flow.start(nonce="n\x00")
    assert r.status_code == 400 and "The query string contains control" in r.text
    # Path and query parameters of any handler.
    bearer = {"Authorization": f"Bearer {admin_token}"}
    for path in ("/admin/users/%00", "/admin/users?email=a%00b", "/oauth/register/a%00b"):
        r = client.get(path, headers=bearer)
        assert r.status_code == 400 and r.json()["error"] == "invalid_request", path
    # JSON bodies: NUL and lone surrogates, anywhere in the document.
    for body in (
        '{"email": "x@example.com", "password": "a long passphrase", "name": "a\\u0000"}',
        '{"email": "x@example.com", "password": "a long passphrase\\ud800"}',
    ):
        r = client.post("/register", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and r.json()["error"] == "invalid_request", body
    r = client.post("/admin/clients", headers=bearer, json={"name": "a\x00", "grant_types": []})
    assert r.status_code == 400 and "control characters" in r.json()["error_description"]
    after = snapshot(services)
    after.pop("audit_events")
    assert after == before


# --- item 13: JSON nulls and wrong types ---------------------------------------------------


def test_json_nulls_in_an_admin_patch_are_400(client, services, factory, admin_token):
    app = factory.client()
    bearer = {"Authorization": f"Bearer {admin_token}"}
    before = snapshot(services)
    for field in ("name", "scope", "grant_types", "redirect_uris", "first_party", "audience"):
        r = client.patch(f"/admin/clients/{app.client_id}", headers=bearer, json={field: None})
        assert r.status_code == 400 and r.json()["error"] == "invalid_request", field
        assert "null" in r.json()["error_description"]
    assert snapshot(services) == before
    r = client.patch(f"/admin/clients/{app.client_id}", headers=bearer, json={"name": "Renamed"})
    assert r.status_code == 200 and r.json()["name"] == "Renamed"


@pytest.mark.parametrize(
    "meta",
    [
        {"jwks_uri": 5},
        {"jwks_uri": ["https://a.example/jwks"]},
        {"jwks_uri": {"url": "https://a.example/jwks"}},
        {"jwks": "not an object"},
        {"client_uri": 1},
        {"contacts": [1]},
        {"id_token_signed_response_alg": []},
    ],
)
def test_wrongly_typed_registration_metadata_is_400(client, services, initial_token, meta):
    before = snapshot(services)
    r = client.post(
        "/oauth/register",
        json={
            "token_endpoint_auth_method": "private_key_jwt",
            "grant_types": ["client_credentials"],
            **meta,
        },
        headers={"Authorization": f"Bearer {initial_token}"},
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_client_metadata", r.text
    assert snapshot(services) == before


# --- item 17 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/login/", "/token/", "/.well-known/jwks.json/", "/admin/clients/"]
)
def test_a_trailing_slash_is_not_found_not_a_redirect_to_the_host_header(client, path):
    r = client.get(path, headers={"Host": "evil.example"}, follow_redirects=False)
    assert r.status_code in (404, 405) and "location" not in r.headers
