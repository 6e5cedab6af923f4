"""The URL of every request, checked before routing: its path and query string, once
percent-decoded, hold storable text only (``text.storable``; the query in UTF-8).

Path parameters (``/admin/users/{id}``, ``/oauth/register/{client_id}``) and query
parameters read by any handler end in database lookups: a ``%00`` there would reach
PostgreSQL, which refuses NUL in text (a 500). Form and JSON bodies are checked where
they are parsed (``web.oauth_bridge``)."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from authserver import text
from authserver.i18n.message import N_, Text
from authserver.web.errors import bad_request
from authserver.web.oauth_bridge import BadRequest


def url_problem(scope: Scope) -> Text | None:
    if not text.storable(scope["path"]):
        return N_("The URL path contains control characters.")
    query = unquote_to_bytes(scope.get("query_string", b"").replace(b"+", b" "))
    if not text.storable_bytes(query):
        return N_("The query string contains control characters.")
    try:
        query.decode("utf-8")
    except UnicodeDecodeError:
        return N_("The query string must be UTF-8.")
    return None


class UrlGuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        problem = url_problem(scope) if scope["type"] == "http" else None
        if problem is None:
            await self.app(scope, receive, send)
            return
        response = await bad_request(Request(scope, receive), BadRequest(problem))
        await response(scope, receive, send)
