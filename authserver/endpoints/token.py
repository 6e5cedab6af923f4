"""POST /token (RFC 6749 §3.2)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from authserver.web.oauth_bridge import call_server, form_request


async def token(request: Request) -> Response:
    oauth_request = await form_request(request)
    response = await call_server(
        request, oauth_request, lambda s: s.create_token_response(oauth_request)
    )
    if response.status_code == 200:
        request.state.services.metrics.token_issued(oauth_request.form.get("grant_type"))
    return response
