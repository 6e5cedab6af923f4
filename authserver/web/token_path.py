"""POST /token straight to its handler, in front of Starlette's router.

Every client calls the token endpoint; measured (bench/README.md), the router, the
exception middlewares and the per-route request wrapper cost the event loop about a
quarter of its time per token request. This path hands the request to the same handler
(``endpoints.token.token``), through the same observability and security-header
middlewares, and maps exceptions with the same handlers (``web.errors``): the answers are
the router's, byte for byte. Everything else, OPTIONS /token (CORS preflight) included,
goes to the application.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from authserver.endpoints import token
from authserver.observability import ObservabilityMiddleware
from authserver.web.errors import EXCEPTION_HANDLERS
from authserver.web.security_headers import SecurityHeadersMiddleware

PATH = "/token"


def exception_handler(exc: Exception) -> Any:
    """The handler Starlette would pick: the nearest class in the exception's MRO."""
    for cls in type(exc).__mro__:
        handler = EXCEPTION_HANDLERS.get(cls)
        if handler is not None:
            return handler
    raise exc


class TokenEndpoint:
    def __init__(self, app: ASGIApp, hsts: bool, access_log_enabled: bool) -> None:
        self.app = app
        self.direct = ObservabilityMiddleware(
            SecurityHeadersMiddleware(self.handle, hsts=hsts),
            access_log_enabled=access_log_enabled,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == PATH and scope["method"] == "POST":
            await self.direct(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["endpoint"] = token.token  # metrics and logs name the handler, as routed
        request = Request(scope, receive)
        try:
            response = await token.token(request)
        except Exception as exc:
            handler = exception_handler(exc)
            response = await handler(request, exc)
            if handler is EXCEPTION_HANDLERS[Exception]:
                # As Starlette's ServerErrorMiddleware: answer, then let the server log it.
                await response(scope, receive, send)
                raise
        await response(scope, receive, send)
