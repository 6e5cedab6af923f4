"""The API forms of logging out, for apps holding a user's access token (as the original
service's ``/logout`` and ``/logout-all``):

- ``logout_current`` (``POST /logout`` with ``Authorization: Bearer``; the /logout route
  dispatches Bearer requests here): the token's grant ends -- its refresh-token family is
  revoked and the token itself denied until it expires.
- ``logout_all`` (``POST /logout-all``): the token's user is logged out everywhere: every
  login session and token family ends and earlier access tokens become invalid.

Both answer 204. The token goes in the Authorization header only (RFC 6750 §2.1); errors
follow RFC 6750 §3: 401 with ``WWW-Authenticate`` for a missing, invalid, expired or
revoked token, 400 for a malformed request, 403 for a token that has no user."""

from __future__ import annotations

import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from authserver.accounts import account
from authserver.audit import AuditEvent
from authserver.oauth.context import OAuthContext
from authserver.oauth.requests import RequestMeta
from authserver.oauth.token_lookup import find_access_token
from authserver.services import Services
from authserver.web.errors import NO_STORE, json_error
from authserver.web.oauth_bridge import request_meta

# RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token
BEARER = re.compile(r"Bearer +([A-Za-z0-9\-._~+/]+=*)", re.IGNORECASE)
INVALID = "The access token is invalid, expired or revoked."


class BearerError(Exception):
    def __init__(self, status: int, error: str | None, description: str | None = None) -> None:
        self.status, self.error, self.description = status, error, description

    def response(self) -> Response:
        # RFC 6750 §3.1: a request without any authentication gets no error code.
        challenge = 'Bearer realm="authserver"'
        if self.error:
            challenge += f', error="{self.error}"'
            if self.description:
                challenge += f', error_description="{self.description}"'
        return json_error(
            self.status,
            self.error or "invalid_token",
            self.description or "An access token is required.",
            {"WWW-Authenticate": challenge},
        )


def bearer_token(request: Request) -> str:
    values = request.headers.getlist("authorization")
    if not values:
        raise BearerError(401, None)
    match = BEARER.fullmatch(values[0].strip()) if len(values) == 1 else None
    if match is None:
        raise BearerError(400, "invalid_request", "Send one Authorization: Bearer header.")
    return match.group(1)


def _claims(ctx: OAuthContext, token: str) -> dict[str, Any]:
    view = find_access_token(ctx, token, with_expired=False)
    if view is None or view.revoked:
        raise BearerError(401, "invalid_token", INVALID)
    return view.claims


def _user_id(claims: dict[str, Any]) -> str | None:
    """client_credentials tokens have the client as their subject, and no user."""
    sub = claims.get("sub")
    return str(sub) if sub and sub != claims.get("client_id") else None


def _logout_current(services: Services, meta: RequestMeta, token: str) -> None:
    with services.db.unit_of_work() as uow:
        ctx = OAuthContext(uow, services, meta)
        claims = _claims(ctx, token)
        family_id = uow.tokens.access_token_family(claims["jti"])
        if family_id is not None:
            uow.tokens.revoke_family(family_id, "logout", ctx.now_dt())
        services.denylist.deny(uow, claims["jti"], claims["exp"])
        ctx.audit(
            AuditEvent.LOGOUT,
            user_id=_user_id(claims),
            client_id=claims.get("client_id"),
            family_id=family_id,
            via="api",
        )


def _logout_all(services: Services, meta: RequestMeta, token: str) -> None:
    with services.db.unit_of_work() as uow:
        ctx = OAuthContext(uow, services, meta)
        claims = _claims(ctx, token)
        user_id = _user_id(claims)
        if user_id is None or uow.users.get(user_id) is None:
            raise BearerError(403, "insufficient_scope", "This token does not belong to a user.")
        account.log_out_everywhere(
            uow,
            services,
            user_id,
            ip=meta.ip,
            user_agent=meta.user_agent,
            client_id=claims.get("client_id"),
            via="api",
        )
        services.denylist.deny(uow, claims["jti"], claims["exp"])


async def _handle(request: Request, work: Any) -> Response:
    try:
        token = bearer_token(request)
        await run_in_threadpool(work, request.state.services, request_meta(request), token)
    except BearerError as exc:
        return exc.response()
    return Response(status_code=204, headers=NO_STORE)


async def logout_current(request: Request) -> Response:
    return await _handle(request, _logout_current)


async def logout_all(request: Request) -> Response:
    return await _handle(request, _logout_all)
