"""GET /.well-known/openid-configuration and /.well-known/oauth-authorization-server."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

HEADERS = {"Cache-Control": "public, max-age=3600", "Access-Control-Allow-Origin": "*"}


async def openid_configuration(request: Request) -> Response:
    return Response(request.state.discovery.openid, media_type="application/json", headers=HEADERS)


async def oauth_authorization_server(request: Request) -> Response:
    return Response(request.state.discovery.oauth, media_type="application/json", headers=HEADERS)
