"""The floor: what a bare Starlette + uvicorn app does per client_credentials request when it
only parses the form, checks a client secret (HTTP Basic, SHA-256 digest, constant time)
and signs an RS256 JWT with PyJWT (a key object loaded once, signed on the event loop).
No database, no logging, no metrics: what Python itself allows on this machine.

    uvicorn bench.floor:app --loop uvloop --http httptools --no-access-log
    (FLOOR_CLIENT_ID, FLOOR_CLIENT_SECRET, FLOOR_ISSUER from the environment)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from urllib.parse import parse_qsl

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

CLIENT_ID = os.environ.get("FLOOR_CLIENT_ID", "cc")
SECRET_DIGEST = hashlib.sha256(os.environ.get("FLOOR_CLIENT_SECRET", "x" * 43).encode()).digest()
ISSUER = os.environ.get("FLOOR_ISSUER", "http://127.0.0.1")
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
JWKS = json.dumps(
    {"keys": [{**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key())), "kid": "k1"}]}
).encode()
INVALID_CLIENT = JSONResponse({"error": "invalid_client"}, status_code=401)


def client_of(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    client_id, _, secret = base64.b64decode(value).decode().partition(":")
    digest = hashlib.sha256(secret.encode()).digest()
    ok = client_id == CLIENT_ID and hmac.compare_digest(digest, SECRET_DIGEST)
    return client_id if ok else None


async def token(request: Request) -> Response:
    form = dict(parse_qsl((await request.body()).decode()))
    client_id = client_of(request)
    if client_id is None:
        return INVALID_CLIENT
    if form.get("grant_type") != "client_credentials":
        return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": client_id,
        "aud": "urn:api",
        "client_id": client_id,
        "scope": "api:read",
        "iat": now,
        "exp": now + 3600,
        "jti": secrets.token_urlsafe(18),
    }
    access_token = jwt.encode(claims, KEY, "RS256", headers={"kid": "k1", "typ": "at+jwt"})
    body = {"access_token": access_token, "token_type": "Bearer", "expires_in": 3600}
    return JSONResponse(body, headers={"cache-control": "no-store"})


async def jwks(request: Request) -> Response:
    return Response(JWKS, media_type="application/json")


app = Starlette(routes=[Route("/token", token, methods=["POST"]), Route("/jwks", jwks)])
