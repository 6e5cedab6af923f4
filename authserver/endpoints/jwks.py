"""GET /.well-known/jwks.json (RFC 7517): every published key, public parts only.

Verifiers cache it for ``jwks_max_age`` seconds; the ETag lets them revalidate cheaply.
A key is published ``key_publish_ahead`` (>= that max-age) before it signs."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response


async def jwks(request: Request) -> Response:
    services = request.state.services
    snapshot = services.keys.snapshot()
    headers = {
        "Cache-Control": f"public, max-age={services.settings.jwks_max_age}",
        "ETag": snapshot.etag,
        "Access-Control-Allow-Origin": "*",
    }
    if snapshot.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(snapshot.jwks_json, media_type="application/json", headers=headers)
