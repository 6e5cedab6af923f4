"""Bearer-token protected JSON APIs (RFC 6750): reading the token and answering errors.

Whether a token is still good is decided by ``oauth.token_lookup`` (deny list, revoked
family, disabled user, ``tokens_valid_after``): this module only reads and reports."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from authserver.oauth.context import OAuthContext
from authserver.oauth.token_lookup import AccessTokenView, find_access_token
from authserver.storage.db import UnitOfWork
from authserver.web.oauth_bridge import request_meta


class BearerError(Exception):
    """RFC 6750 §3.1: ``invalid_request`` (400), ``invalid_token`` (401),
    ``insufficient_scope`` (403); no error code at all when no token was sent."""

    def __init__(
        self,
        status: int,
        error: str | None = None,
        description: str | None = None,
        scope: str | None = None,
    ) -> None:
        super().__init__(description or error or "unauthorized")
        self.status, self.error, self.description, self.scope = status, error, description, scope


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        # RFC 6750 §3.1: a request without authentication gets no error code.
        raise BearerError(401)
    return token.strip()


def audiences(claims: dict[str, Any]) -> list[str]:
    aud = claims.get("aud")
    return [aud] if isinstance(aud, str) else [a for a in aud or () if isinstance(a, str)]


def authenticate(
    request: Request, uow: UnitOfWork, *, scope: str | None = None, for_issuer: bool = False
) -> AccessTokenView:
    """The live access token this request carries, holding ``scope`` if one is named,
    and with ``for_issuer`` one whose `aud` names this server (its issuer), so that an
    API that was handed a token for itself cannot replay it at ours (RFC 9068 §4).
    Call it in the thread pool (it reads the database and Redis)."""
    token = bearer_token(request)
    services = request.state.services
    ctx = OAuthContext(uow, services, request_meta(request))
    view = find_access_token(ctx, token, with_expired=False)
    if view is None or view.revoked:
        raise BearerError(401, "invalid_token", "The access token is invalid, expired or revoked.")
    if for_issuer and services.settings.issuer not in audiences(view.claims):
        raise BearerError(401, "invalid_token", "The access token is not meant for this server.")
    if scope and scope not in str(view.claims.get("scope", "")).split():
        raise BearerError(403, "insufficient_scope", f"The {scope} scope is required.", scope)
    return view


async def bearer_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BearerError)
    parts = []
    if exc.error:
        parts.append(f'error="{exc.error}"')
    if exc.description:
        parts.append(f'error_description="{exc.description}"')
    if exc.scope:
        parts.append(f'scope="{exc.scope}"')
    challenge = "Bearer" + (" " + ", ".join(parts) if parts else "")
    body = {"error": exc.error or "unauthorized"}
    if exc.description:
        body["error_description"] = exc.description
    return Response(
        json.dumps(body),
        status_code=exc.status,
        media_type="application/json",
        headers={"WWW-Authenticate": challenge, "Cache-Control": "no-store"},
    )
