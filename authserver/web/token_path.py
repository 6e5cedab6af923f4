"""POST /token straight to its handler, in front of Starlette's router.

Every client calls the token endpoint; measured (bench/README.md), the router, the
exception middlewares and the per-route request wrapper cost the event loop about a
quarter of its time per token request. This path hands the request to the same handler
(``endpoints.token.token``), through the same observability and security-header
middlewares, and maps exceptions with the same handlers (``web.errors``): the answers are
the router's, byte for byte. Everything else, OPTIONS /token (CORS preflight) included,
goes to the application.

A plain client_credentials request (``oauth.grants.client_credentials_fast``) is answered
before any request object is built: headers read once from the scope, the body from
``receive``, the form parsed by the same validators (``web.oauth_bridge``). Whenever that
path declines, the request goes on to the handler with its body replayed, unchanged.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authserver.endpoints import token
from authserver.oauth.grants.client_credentials_fast import GRANT_TYPE, plain_token
from authserver.observability import ObservabilityMiddleware
from authserver.params import parse_decimal
from authserver.web.errors import EXCEPTION_HANDLERS
from authserver.web.oauth_bridge import FORM_TYPE, BadRequest, parse_params, reject_repeated
from authserver.web.security_headers import SecurityHeadersMiddleware
from authserver.web.url_guard import url_problem

PATH = "/token"
# The request headers the plain path reads; a request that repeats one takes the full path.
PLAIN_HEADERS = frozenset({b"authorization", b"content-type", b"content-length", b"origin"})
PLAIN_GRANT = b"grant_type=" + GRANT_TYPE.encode()
# RFC 6749 §5.1: the token response is JSON and MUST NOT be cached.
TOKEN_HEADERS = [
    (b"content-type", b"application/json"),
    (b"cache-control", b"no-store"),
    (b"pragma", b"no-cache"),
]


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
        if (
            scope["type"] == "http"
            and scope["path"] == PATH
            and scope["method"] == "POST"
            # A query string the router's URL guard refuses is refused there (400).
            and (not scope.get("query_string") or url_problem(scope) is None)
        ):
            await self.direct(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["endpoint"] = token.token  # metrics and logs name the handler, as routed
        answered, receive = await answer_plain(scope, receive, send)
        if answered:
            return
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


def replay(messages: list[Message], receive: Receive) -> Receive:
    """``receive`` with ``messages`` (already received) handed out again first."""
    pending = list(messages)

    async def again() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return again


async def answer_plain(scope: Scope, receive: Receive, send: Send) -> tuple[bool, Receive]:
    """Answer a plain client_credentials request; else (False, a ``receive`` that hands
    out the body again) for the full path."""
    headers: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        if name in PLAIN_HEADERS:
            if name in headers:
                return False, receive
            headers[name] = value
    services = scope["state"]["services"]
    limit = services.settings.max_body_bytes
    length = parse_decimal(headers.get(b"content-length", b"").decode("latin-1"))
    if (
        b"origin" in headers  # CORS: the full path asks the client's allowed origins
        or headers.get(b"content-type", b"").lower() != FORM_TYPE.encode()
        or length is None
        or length > limit
    ):
        return False, receive
    messages: list[Message] = []
    body = b""
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return False, replay(messages, receive)
        body += message.get("body", b"")
        if len(body) > length:
            return False, replay(messages, receive)
        if not message.get("more_body", False):
            break
    # Most token requests of other grants are told apart without parsing their form
    # (the full path parses it again); a grant_type spelt otherwise just takes that path.
    if PLAIN_GRANT not in body:
        return False, replay(messages, receive)
    try:
        answer = _plain_answer(scope, services, body, headers.get(b"authorization"))
    except Exception:
        # (Signing failed, say.) Nothing was sent or stored: the full path runs it again
        # and answers and logs a failure with its handlers, as it would have alone.
        answer = None
    if answer is None:
        return False, replay(messages, receive)
    content = json.dumps(answer, separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", str(len(content)).encode()), *TOKEN_HEADERS],
        }
    )
    await send({"type": "http.response.body", "body": content})
    services.metrics.token_issued(GRANT_TYPE)
    return True, receive


def _plain_answer(
    scope: Scope, services: Any, body: bytes, authorization: bytes | None
) -> dict[str, Any] | None:
    try:
        form = reject_repeated(parse_params(body.decode("utf-8")))
    except (UnicodeDecodeError, BadRequest):
        return None
    return plain_token(
        services.clients,
        scope["state"]["oauth"].generator,
        form,
        None if authorization is None else authorization.decode("latin-1"),
    )
