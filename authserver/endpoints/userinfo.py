"""GET|POST /userinfo (OIDC Core §5.3): the user's claims the access token's scope allows.

The token must be live (``web.bearer`` -> ``oauth.token_lookup``: deny list, revoked
family, `tokens_valid_after`, disabled user) and hold `openid`; errors per RFC 6750 §3."""

from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from authserver.oauth import claims
from authserver.web import bearer, cors


def _claims(request: Request) -> tuple[dict[str, Any], tuple[str, ...]]:
    services = request.state.services
    with services.db.unit_of_work() as uow:
        token = bearer.authenticate(request, uow, scope="openid")
        user = uow.users.get(str(token.claims.get("sub")))
        if user is None:
            # A client's own token (client_credentials) has no user behind it.
            raise bearer.BearerError(401, "invalid_token", "The token was not issued to a user.")
        client = services.clients.get(
            token.claims["client_id"], lambda: uow.clients.get(token.claims["client_id"])
        )
        origins = client.allowed_cors_origins if client else ()
        return dict(claims.user_info(user, token.claims["scope"])), origins


async def userinfo(request: Request) -> Response:
    info, origins = await run_in_threadpool(_claims, request)
    response = Response(
        json.dumps(info),
        media_type="application/json",
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )
    return cors.allow(request, response, origins)
