"""Per-client CORS for the endpoints browser apps call directly: /token, /revoke and
/userinfo. Origins are registered per client (``allowed_cors_origins``).

A preflight names no client, so it is allowed for an origin some client registered; the
real response then carries ``Access-Control-Allow-Origin`` only if the client that made
the request (authenticated, or owning the token) registered that origin. No credentials
mode: tokens travel in headers and bodies, never in cookies."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

ALLOWED_HEADERS = "Authorization, Content-Type"
MAX_AGE = "600"


def _known_origins(request: Request) -> frozenset[str]:
    services = request.state.services

    def load() -> set[str]:
        with services.db.unit_of_work() as uow:
            return uow.clients.all_cors_origins()

    return services.clients.cors_origins(load)


async def preflight(request: Request) -> Response:
    origin = request.headers.get("origin")
    methods = "GET, POST" if request.url.path == "/userinfo" else "POST"
    headers = {"Vary": "Origin", "Allow": f"{methods}, OPTIONS"}
    if origin and origin in await run_in_threadpool(_known_origins, request):
        headers.update(
            {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": methods,
                "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                "Access-Control-Max-Age": MAX_AGE,
            }
        )
    return Response(status_code=204, headers=headers)


def allow(request: Request, response: Response, allowed: Iterable[str] | None) -> Response:
    """Add CORS headers to ``response`` if the request's Origin is in ``allowed``."""
    response.headers.append("Vary", "Origin")
    origin = request.headers.get("origin")
    if origin and allowed is not None and origin in allowed:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = "WWW-Authenticate"
    return response
