"""POST /introspect (RFC 7662)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from authserver.web.oauth_bridge import call_server, form_request


async def introspect(request: Request) -> Response:
    oauth_request = await form_request(request)
    return await call_server(
        request, oauth_request, lambda s, r: s.create_endpoint_response("introspection", r)
    )
