"""GET /.well-known/jwks.json (RFC 7517): every published key, public parts only.

Verifiers cache it for ``jwks_max_age`` seconds; the ETag lets them revalidate cheaply.
A key is published ``key_publish_ahead`` (>= that max-age) before it signs.

The document is prebuilt bytes (``KeySnapshot.jwks_json``), so it is answered by a pure
ASGI fast path in front of the router: every resource server fetches it, and routing,
request objects and exception layers would cost more than the answer itself.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from authserver.web.security_headers import DEFAULT_CSP, security_headers

PATH = "/.well-known/jwks.json"


class JwksEndpoint:
    """Wraps the whole application (outside Starlette's middleware stack), so it sets the
    security headers itself."""

    def __init__(self, app: ASGIApp, max_age: int, hsts: bool) -> None:
        self.app = app
        self.cache_control = f"public, max-age={max_age}".encode()
        self.fixed = [
            *security_headers(hsts),
            (b"content-security-policy", DEFAULT_CSP.encode()),
            (b"access-control-allow-origin", b"*"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != PATH
            or scope["method"] not in ("GET", "HEAD")
        ):
            await self.app(scope, receive, send)
            return
        services = scope["state"]["services"]
        services.metrics.requests.labels("jwks.jwks", scope["method"], "200").inc()
        snapshot = services.keys.snapshot()
        etag = snapshot.etag.encode()
        headers = [(b"cache-control", self.cache_control), (b"etag", etag), *self.fixed]
        if_none_match = next((v for k, v in scope["headers"] if k == b"if-none-match"), b"")
        if etag in if_none_match:
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        body = snapshot.jwks_json
        headers += [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )
