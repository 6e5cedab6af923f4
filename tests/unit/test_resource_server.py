"""The resource-server helper, against tokens the server really issued and its JWKS."""

from __future__ import annotations

import time

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from authserver.keys import admin as key_admin
from authserver.resource_server import (
    AccessTokenVerifier,
    InsufficientScope,
    InvalidToken,
    RequireAccessToken,
)
from authserver.services import folder_key_store

ISSUER = "http://localhost:8000"


@pytest.fixture
def issued(client, factory):
    svc = factory.client(scope="orders:read orders:write")
    fetches = []

    def fetch(url):
        fetches.append(url)
        return client.get(url.removeprefix(ISSUER)).json()

    def token(scope="orders:read"):
        r = client.post(
            "/token", data={"grant_type": "client_credentials", "scope": scope}, auth=svc.basic_auth
        )
        return r.json()["access_token"]

    return token, fetch, fetches


def test_verifies_signature_issuer_audience_and_scope(issued):
    token, fetch, fetches = issued
    v = AccessTokenVerifier(ISSUER, ISSUER, fetch=fetch)
    claims = v.verify(token(), scopes=["orders:read"])
    assert claims["scope"] == "orders:read" and claims["iss"] == ISSUER
    v.verify(token())
    assert len(fetches) == 1  # cached
    with pytest.raises(InsufficientScope):
        v.verify(token(), scopes=["orders:write"])
    with pytest.raises(InvalidToken, match="audience"):
        AccessTokenVerifier(ISSUER, "https://other.example", fetch=fetch).verify(token())
    with pytest.raises(InvalidToken, match="issuer"):
        AccessTokenVerifier(
            "https://evil.example", ISSUER, jwks_uri=f"{ISSUER}/.well-known/jwks.json", fetch=fetch
        ).verify(token())
    head, body, sig = token().split(".")
    with pytest.raises(InvalidToken):
        v.verify(f"{head}.{body}x.{sig}")


def test_expiry_with_leeway(issued):
    token, fetch, _ = issued
    t = token()
    later = AccessTokenVerifier(
        ISSUER, ISSUER, fetch=fetch, leeway=30, clock=lambda: time.time() + 3600 + 31
    )
    with pytest.raises(InvalidToken, match="expired"):
        later.verify(t)
    just = AccessTokenVerifier(
        ISSUER, ISSUER, fetch=fetch, leeway=30, clock=lambda: time.time() + 3600 + 10
    )
    just.verify(t)


def test_unknown_kid_refetches_once_then_finds_the_rotated_key(issued, settings, client):
    token, fetch, fetches = issued
    v = AccessTokenVerifier(ISSUER, ISSUER, fetch=fetch, min_refetch=0)
    v.verify(token())
    key_admin.rotate(folder_key_store(settings), time.time(), 0, 2048, immediately=True)
    time.sleep(1.1)  # the server notices new key files within a second
    v.verify(token())  # signed by the new kid: one refetch
    assert len(fetches) == 2
    with pytest.raises(InvalidToken, match="signing key"):
        v.verify(token().split(".")[0][:-2] + "xx." + "e30.sig")
    assert len(fetches) <= 3


def test_a_token_of_another_type_is_refused(issued, settings):
    """RFC 9068 §4: an ID token (or any JWT) signed by the same key is not an access token."""
    from joserfc import jwt as jose_jwt
    from joserfc.jwk import KeySet

    token, fetch, _ = issued
    claims = AccessTokenVerifier(ISSUER, ISSUER, fetch=fetch).verify(token())
    (stored,) = folder_key_store(settings).load()
    forged = jose_jwt.encode({"alg": "RS256", "typ": "JWT"}, claims, KeySet([stored.private]))
    with pytest.raises(InvalidToken, match="typ"):
        AccessTokenVerifier(ISSUER, ISSUER, fetch=fetch).verify(forged)


def test_starlette_middleware(issued):
    token, fetch, _ = issued
    verifier = AccessTokenVerifier(ISSUER, ISSUER, fetch=fetch)

    async def orders(request: Request) -> JSONResponse:
        return JSONResponse({"client": request.state.access_token["client_id"]})

    api = Starlette(routes=[Route("/orders", orders), Route("/health", orders)])
    api.add_middleware(
        RequireAccessToken, verifier=verifier, scopes=["orders:read"], exempt=["/health"]
    )
    with TestClient(api) as http:
        assert http.get("/orders").status_code == 401
        r = http.get("/orders", headers={"Authorization": f"Bearer {token()}"})
        assert r.status_code == 200 and r.json()["client"]
        r = http.get("/orders", headers={"Authorization": f"Bearer {token('orders:write')}"})
        assert r.status_code == 403 and "insufficient_scope" in r.headers["www-authenticate"]
        r = http.get("/orders", headers={"Authorization": "Bearer a.b.c"})
        assert r.status_code == 401 and "invalid_token" in r.headers["www-authenticate"]


def test_exempt_paths_match_whole_segments(issued):
    token, fetch, _ = issued
    verifier = AccessTokenVerifier(ISSUER, ISSUER, fetch=fetch)

    async def ok(request: Request) -> JSONResponse:
        return JSONResponse({"token": "access_token" in request.state._state})

    api = Starlette(
        routes=[Route("/health", ok), Route("/health/live", ok), Route("/{p:path}", ok)]
    )
    api.add_middleware(RequireAccessToken, verifier=verifier, exempt=["/health"])
    with TestClient(api) as http:
        for open_path in ("/health", "/health/live"):
            assert http.get(open_path).json() == {"token": False}
        for guarded in ("/healthcare", "/healthcare/records", "/health.json", "/healthz"):
            r = http.get(guarded)
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", guarded
        r = http.get("/healthcare/records", headers={"Authorization": f"Bearer {token()}"})
        assert r.status_code == 200 and r.json() == {"token": True}


def test_a_deeply_nested_token_is_invalid_not_a_500(issued):
    """The middleware reads the header's kid itself (to know whether to refetch the
    JWKS first): a header nested past the recursion limit is just an invalid token."""
    import base64

    _, fetch, _ = issued
    verifier = AccessTokenVerifier(ISSUER, ISSUER, fetch=fetch)

    async def ok(request: Request) -> JSONResponse:
        return JSONResponse({})

    api = Starlette(routes=[Route("/orders", ok)])
    api.add_middleware(RequireAccessToken, verifier=verifier)
    deep = base64.urlsafe_b64encode(b"[" * 2500 + b"]" * 2500).rstrip(b"=").decode()
    with TestClient(api) as http:
        for token in (f"{deep}.e30.c2ln", f"eyJhbGciOiJSUzI1NiJ9.{deep}.c2ln"):
            r = http.get("/orders", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 401 and "invalid_token" in r.headers["www-authenticate"]
    assert verifier.kid_of(f"{deep}.e30.c2ln") is None
