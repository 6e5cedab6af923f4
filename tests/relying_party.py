"""A small OpenID Connect relying party for the end-to-end tests: a real web app (uvicorn
in a thread) that sends the browser to authserver, takes the code back, exchanges it with
Authlib's OAuth 2.0 client (PKCE S256), validates the ID token with Authlib's
CodeIDToken against the published JWKS, calls userinfo, refreshes and logs out."""

from __future__ import annotations

import html
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx2 as httpx
import uvicorn
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.jwk import KeySet
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse
from starlette.routing import Route

from tests.servers import free_port


def validate_id_token(
    issuer: str,
    client_id: str,
    id_token: str,
    nonce: str | None,
    access_token: str | None = None,
) -> dict[str, Any]:
    """Verify the signature against the server's JWKS and the claims as an RP must
    (OIDC Core §3.1.3.7): iss, aud, exp, iat, nonce, at_hash."""
    config = httpx.get(f"{issuer}/.well-known/openid-configuration").json()
    keys = KeySet.import_key_set(httpx.get(config["jwks_uri"]).json())
    decoded = jwt.decode(id_token, keys, algorithms=["RS256"])
    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        options={
            "iss": {"essential": True, "value": issuer},
            "aud": {"essential": True, "value": client_id},
            **({"nonce": {"essential": True, "value": nonce}} if nonce else {}),
        },
        params={"access_token": access_token} if access_token else {},
    )
    claims.validate(leeway=5)
    return dict(claims)


@dataclass
class RelyingParty:
    issuer: str
    client_id: str
    client_secret: str
    url: str = ""
    state: dict[str, Any] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)

    def oauth(self) -> OAuth2Client:
        return OAuth2Client(
            self.client_id,
            self.client_secret,
            scope="openid email offline_access",
            redirect_uri=f"{self.url}/cb",
            code_challenge_method="S256",
        )

    def app(self) -> Starlette:
        config = httpx.get(f"{self.issuer}/.well-known/openid-configuration").json()

        async def login(request: Request) -> RedirectResponse:
            verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
            extra = dict(request.query_params)  # e.g. ui_locales, passed on as given
            with self.oauth() as authz:
                uri, state = authz.create_authorization_url(
                    config["authorization_endpoint"], code_verifier=verifier, nonce=nonce, **extra
                )
            self.state[state] = (verifier, nonce)
            return RedirectResponse(uri)

        async def callback(request: Request) -> HTMLResponse:
            state = request.query_params.get("state", "")
            if state not in self.state or request.query_params.get("iss") != self.issuer:
                return HTMLResponse("bad state or issuer", status_code=400)
            verifier, nonce = self.state.pop(state)
            with self.oauth() as client:
                token = client.fetch_token(
                    config["token_endpoint"],
                    code_verifier=verifier,
                    authorization_response=str(request.url),
                )
                claims = validate_id_token(
                    self.issuer, self.client_id, token["id_token"], nonce, token["access_token"]
                )
                info = client.get(config["userinfo_endpoint"]).json()
            self.results.update(token=token, claims=claims, userinfo=info)
            return HTMLResponse(
                f"<p id='hello'>Hello {html.escape(info['email'])}</p>"
                "<a id='refresh' href='/refresh'>refresh</a> "
                "<a id='logout' href='/logout'>log out</a>"
            )

        async def refresh(request: Request) -> HTMLResponse:
            with self.oauth() as client:
                client.token = self.results["token"]
                new = client.refresh_token(config["token_endpoint"])
            self.results["refreshed"] = new
            self.results["token"] = new
            return HTMLResponse(
                "<p id='refreshed'>refreshed</p><a id='logout' href='/logout'>out</a>"
            )

        async def logout(request: Request) -> RedirectResponse:
            token = self.results["token"]
            query = httpx.QueryParams(
                {
                    "id_token_hint": token["id_token"],
                    "post_logout_redirect_uri": f"{self.url}/bye",
                    "state": "bye-state",
                }
            )
            return RedirectResponse(f"{config['end_session_endpoint']}?{query}")

        async def bye(request: Request) -> HTMLResponse:
            self.results["bye_state"] = request.query_params.get("state")
            return HTMLResponse("<p id='bye'>Signed out</p>")

        return Starlette(
            routes=[
                Route("/login", login),
                Route("/cb", callback),
                Route("/refresh", refresh),
                Route("/logout", logout),
                Route("/bye", bye),
            ]
        )


@contextmanager
def running_relying_party(rp: RelyingParty) -> Iterator[RelyingParty]:
    port = free_port()
    rp.url = f"http://127.0.0.1:{port}"
    server = uvicorn.Server(
        uvicorn.Config(rp.app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 10
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    try:
        yield rp
    finally:
        server.should_exit = True
        thread.join(timeout=10)
