"""Security headers on every response (pure ASGI: no per-request task overhead).

CSP without inline script and ``frame-ancestors 'none'``, ``Referrer-Policy:
no-referrer``, ``nosniff``, and HSTS when we are served over HTTPS (DESIGN.md). A handler
that sets its own CSP (a page with a form, say) keeps it."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = b"content-security-policy"
DEFAULT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def security_headers(hsts: bool) -> list[tuple[bytes, bytes]]:
    """The headers every response carries (a handler's own CSP aside)."""
    extra = [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
    ]
    if hsts:
        extra.append((b"strict-transport-security", b"max-age=63072000; includeSubDomains"))
    return extra


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, hsts: bool) -> None:
        self.app = app
        self.extra = security_headers(hsts)
        self.default_csp = DEFAULT_CSP.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # ASGI header names are lower-case bytes (what Starlette sends).
                headers = [*message.get("headers", ()), *self.extra]
                if not any(name == CSP for name, _ in headers):
                    headers.append((CSP, self.default_csp))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
