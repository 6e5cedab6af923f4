"""Dynamic client registration (RFC 7591), its management (RFC 7592), and the
private_key_jwt client authentication (RFC 7523 §2.2) such clients may use."""

from __future__ import annotations

import threading
import time
import uuid

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from authserver.oauth import registration as dcr


@pytest.fixture
def initial_token(services):
    with services.db.unit_of_work() as uow:
        return dcr.issue_initial_token(uow, services.clock, "tests", 3600)


def register(client, token, **meta):
    return client.post("/oauth/register", json=meta, headers={"Authorization": f"Bearer {token}"})


def test_register_a_confidential_web_app(client, initial_token):
    r = register(
        client,
        initial_token,
        client_name="Web app",
        redirect_uris=["https://app.example.com/cb"],
        scope="openid email",
        contacts=["ops@example.com"],
        unknown_field="ignored",
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["client_secret"] and body["client_secret_expires_at"] == 0
    assert body["grant_types"] == ["authorization_code"] and body["response_types"] == ["code"]
    assert body["contacts"] == ["ops@example.com"] and "unknown_field" not in body
    assert body["registration_client_uri"].endswith(f"/oauth/register/{body['client_id']}")
    assert r.headers["cache-control"] == "no-store"
    # RFC 7592: read it back with the registration access token.
    auth = {"Authorization": f"Bearer {body['registration_access_token']}"}
    read = client.get(f"/oauth/register/{body['client_id']}", headers=auth)
    assert read.status_code == 200 and read.json()["client_name"] == "Web app"
    assert "client_secret" not in read.json()


def test_public_client_gets_no_secret(client, initial_token):
    r = register(
        client,
        initial_token,
        redirect_uris=["com.example.app:/cb"],
        token_endpoint_auth_method="none",
    )
    assert r.status_code == 201 and "client_secret" not in r.json()


@pytest.mark.parametrize(
    ("meta", "error"),
    [
        ({"redirect_uris": ["http://evil.example/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://a.example/cb#x"]}, "invalid_redirect_uri"),
        ({"redirect_uris": []}, "invalid_redirect_uri"),
        (
            {"redirect_uris": ["https://a.example/cb"], "grant_types": ["password"]},
            "invalid_client_metadata",
        ),
        (
            {"redirect_uris": ["https://a.example/cb"], "response_types": ["token"]},
            "invalid_client_metadata",
        ),
        (
            {"grant_types": ["client_credentials"], "response_types": ["code"]},
            "invalid_client_metadata",
        ),
        (
            {"redirect_uris": ["https://a.example/cb"], "scope": "openid admin"},
            "invalid_client_metadata",
        ),
        (
            {
                "redirect_uris": ["https://a.example/cb"],
                "token_endpoint_auth_method": "tls_client_auth",
            },
            "invalid_client_metadata",
        ),
        (
            {
                "redirect_uris": ["https://a.example/cb"],
                "token_endpoint_auth_method": "private_key_jwt",
            },
            "invalid_client_metadata",
        ),
        ({"redirect_uris": "https://a.example/cb"}, "invalid_client_metadata"),
    ],
)
def test_invalid_metadata_is_refused_and_nothing_is_stored(
    client, services, initial_token, meta, error
):
    with services.db.unit_of_work() as uow:
        before = uow.clients.count()
    r = register(client, initial_token, **meta)
    assert r.status_code == 400 and r.json()["error"] == error, r.text
    with services.db.unit_of_work() as uow:
        assert uow.clients.count() == before


def test_initial_access_token_is_required(client, services):
    meta = {"redirect_uris": ["https://a.example/cb"]}
    assert client.post("/oauth/register", json=meta).status_code == 401
    r = register(client, "made-up", **meta)
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"
    with services.db.unit_of_work() as uow:
        expired = dcr.issue_initial_token(uow, services.clock, "old", 1)
    time.sleep(1.1)
    assert register(client, expired, **meta).status_code == 401


def test_initial_access_tokens_count_their_uses_and_are_audited(client, services):
    """A token issued for two registrations makes exactly two, also when several race
    for the last use; a registration refused for its metadata uses nothing; uses and
    refusals of a known token are audited."""
    with services.db.unit_of_work() as uow:
        token = dcr.issue_initial_token(uow, services.clock, "two", 3600, max_uses=2)
    meta = {"redirect_uris": ["https://a.example/cb"]}
    assert register(client, token, redirect_uris=["not a uri"]).status_code == 400
    assert register(client, token, **meta).status_code == 201
    statuses: list[int] = []
    barrier = threading.Barrier(4)

    def race() -> None:
        barrier.wait()
        statuses.append(register(client, token, **meta).status_code)

    threads = [threading.Thread(target=race) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [201, 401, 401, 401]
    with services.db.unit_of_work() as uow:
        assert uow.clients.count() == 2
        used = uow.audit.query(event="registration.initial_token_used")
        refused = uow.audit.query(event="registration.initial_token_refused")
        assert [e.details["uses"] for e in used] == [2, 1]
        assert len(refused) == 3 and {e.details["reason"] for e in refused} == {"used_up"}
        assert token not in str([e.details for e in [*used, *refused]])
    assert register(client, "made-up", **meta).status_code == 401
    with services.db.unit_of_work() as uow:  # unknown tokens are not one of ours to record
        assert len(uow.audit.query(event="registration.initial_token_refused")) == 3


def test_management_update_and_delete(client, initial_token):
    body = register(
        client, initial_token, client_name="A", redirect_uris=["https://a.example/cb"]
    ).json()
    cid = body["client_id"]
    auth = {"Authorization": f"Bearer {body['registration_access_token']}"}
    r = client.put(
        f"/oauth/register/{cid}",
        headers=auth,
        json={"client_id": cid, "client_name": "B", "redirect_uris": ["https://b.example/cb"]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["client_name"] == "B" and r.json()["redirect_uris"] == ["https://b.example/cb"]
    bad = client.put(
        f"/oauth/register/{cid}",
        headers=auth,
        json={"client_id": cid, "redirect_uris": ["http://evil.example/cb"]},
    )
    assert bad.status_code == 400
    assert client.get(f"/oauth/register/{cid}", headers=auth).json()["client_name"] == "B"
    assert client.delete(f"/oauth/register/{cid}", headers=auth).status_code == 204
    assert client.get(f"/oauth/register/{cid}", headers=auth).status_code == 401


def test_a_registration_token_manages_only_its_own_client(client, initial_token):
    a = register(client, initial_token, redirect_uris=["https://a.example/cb"]).json()
    b = register(client, initial_token, redirect_uris=["https://b.example/cb"]).json()
    auth = {"Authorization": f"Bearer {a['registration_access_token']}"}
    assert client.get(f"/oauth/register/{b['client_id']}", headers=auth).status_code == 401
    assert client.delete(f"/oauth/register/{b['client_id']}", headers=auth).status_code == 401


def _assertion(private_key, client_id, aud, jti=None, kid="k1", lifetime=60):
    now = int(time.time())
    return pyjwt.encode(
        {
            "iss": client_id,
            "sub": client_id,
            "aud": aud,
            "iat": now,
            "exp": now + lifetime,
            "jti": jti or uuid.uuid4().hex,
        },
        private_key,
        algorithm="RS256",
        headers={"kid": kid},
    )


def test_private_key_jwt_client_credentials(client, initial_token):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = pyjwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwk.update(kid="k1", use="sig", alg="RS256")
    reg = register(
        client,
        initial_token,
        grant_types=["client_credentials"],
        scope="openid",
        token_endpoint_auth_method="private_key_jwt",
        jwks={"keys": [jwk]},
    )
    assert reg.status_code == 201, reg.text
    cid = reg.json()["client_id"]
    assert "client_secret" not in reg.json()
    # openid is not grantable without a user; use an API-less grant to prove auth works.
    assertion = _assertion(key, cid, "http://localhost:8000/token")
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
    }
    r = client.post("/token", data=data)
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"  # authenticated
    # The same assertion again is a replay (RFC 7523 §3 item 7).
    replay = client.post("/token", data=data)
    assert replay.status_code == 401 and replay.json()["error"] == "invalid_client"
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for bad in (
        _assertion(other_key, cid, "http://localhost:8000/token"),
        _assertion(key, cid, "https://elsewhere.example/token"),
        _assertion(key, "someone-else", "http://localhost:8000/token"),
        _assertion(key, cid, "http://localhost:8000/token", lifetime=3600),
        "not.a.jwt",
    ):
        r = client.post("/token", data={**data, "client_assertion": bad})
        assert r.status_code == 401 and r.json()["error"] == "invalid_client", bad
