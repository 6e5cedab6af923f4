"""GET /brand.css: the operator's colours as CSS custom properties (see
``authserver.branding``); a stylesheet, not inline style, so the CSP stays strict."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response


async def stylesheet(request: Request) -> Response:
    return Response(
        request.state.services.brand.stylesheet,
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=300"},
    )
