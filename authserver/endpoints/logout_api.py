"""The API forms of logging out, for apps holding a user's access token (as the original
service's ``/logout`` and ``/logout-all``):

- ``logout_current`` (``POST /logout`` with ``Authorization: Bearer``; the /logout route
  dispatches Bearer requests here): the token's grant ends -- its refresh-token family is
  revoked and the token itself denied until it expires.
- ``logout_all`` (``POST /logout-all``): the token's user is logged out everywhere: every
  login session and token family ends and earlier access tokens become invalid.

Both answer 204. The token is read and checked by ``web.bearer`` (RFC 6750 §2.1 header;
§3 errors: 401 + ``WWW-Authenticate`` for a missing, invalid, expired or revoked token,
and for one whose audience is not this server: an API must not replay the tokens it is
sent). Logging out everywhere reaches far beyond the app asking, so it takes a token of a
first-party client or one granted the ``logout_all`` scope; any other token (a third-party
app's, or client_credentials, which have no user) gets 403 ``insufficient_scope``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from authserver.accounts import account
from authserver.audit import AuditEvent, record
from authserver.clock import to_datetime
from authserver.oauth.requests import RequestMeta
from authserver.services import Services
from authserver.storage.db import UnitOfWork
from authserver.web import bearer
from authserver.web.errors import NO_STORE
from authserver.web.oauth_bridge import request_meta

LOGOUT_ALL_SCOPE = "logout_all"


def _user_id(claims: dict[str, Any]) -> str | None:
    """client_credentials tokens have their client as subject, and no user."""
    sub = claims.get("sub")
    return str(sub) if sub and sub != claims.get("client_id") else None


def _logout_current(
    uow: UnitOfWork, services: Services, meta: RequestMeta, claims: dict[str, Any]
) -> None:
    family_id = uow.tokens.access_token_family(claims["jti"])
    if family_id is not None:
        uow.tokens.revoke_family(family_id, "logout", to_datetime(services.clock.now()))
    services.denylist.deny(uow, claims["jti"], claims["exp"])
    record(
        uow,
        services.clock,
        AuditEvent.LOGOUT,
        user_id=_user_id(claims),
        client_id=claims.get("client_id"),
        ip=meta.ip,
        user_agent=meta.user_agent,
        family_id=family_id,
        via="api",
    )


def _may_log_out_everywhere(uow: UnitOfWork, services: Services, claims: dict[str, Any]) -> bool:
    if LOGOUT_ALL_SCOPE in str(claims.get("scope", "")).split():
        return True
    client_id = str(claims.get("client_id", ""))
    client = services.clients.get(client_id, lambda: uow.clients.get(client_id))
    return client is not None and client.first_party


def _logout_all(
    uow: UnitOfWork, services: Services, meta: RequestMeta, claims: dict[str, Any]
) -> None:
    user_id = _user_id(claims)
    if user_id is None or uow.users.get(user_id) is None:
        raise bearer.BearerError(403, "insufficient_scope", "This token does not belong to a user.")
    if not _may_log_out_everywhere(uow, services, claims):
        raise bearer.BearerError(
            403,
            "insufficient_scope",
            "Logging out everywhere needs a first-party app or the logout_all scope.",
            LOGOUT_ALL_SCOPE,
        )
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


Work = Callable[[UnitOfWork, Services, RequestMeta, dict[str, Any]], None]


async def _handle(request: Request, work: Work) -> Response:
    services: Services = request.state.services
    meta = request_meta(request)

    def run() -> None:
        with services.db.unit_of_work() as uow:
            view = bearer.authenticate(request, uow, for_issuer=True)
            work(uow, services, meta, view.claims)

    await run_in_threadpool(run)
    return Response(status_code=204, headers=NO_STORE)


async def logout_current(request: Request) -> Response:
    return await _handle(request, _logout_current)


async def logout_all(request: Request) -> Response:
    return await _handle(request, _logout_all)
