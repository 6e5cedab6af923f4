"""Exception handlers: every failure leaves as a standard answer, never a stack trace.

OAuth-style JSON for the protocol endpoints (RFC 6749 §5.2 shape); 503 with
Retry-After when the database or Redis is away; a generic 500 otherwise."""

from __future__ import annotations

import json
import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from authserver.errors import RateLimited, ServiceUnavailable
from authserver.web.oauth_bridge import BadRequest

log = logging.getLogger("authserver.errors")

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def json_error(
    status: int, error: str, description: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    body: dict[str, str] = {"error": error}
    if description:
        body["error_description"] = description
    return Response(
        json.dumps(body),
        status_code=status,
        media_type="application/json",
        headers={**NO_STORE, **(headers or {})},
    )


async def bad_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BadRequest)
    return json_error(exc.status, exc.error, exc.description)


async def unavailable(request: Request, exc: Exception) -> Response:
    log.warning("backing service unavailable: %s", exc.__cause__ or exc)
    return json_error(
        503, "temporarily_unavailable", "A backing service is unavailable.", {"Retry-After": "5"}
    )


async def rate_limited(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RateLimited)
    return json_error(
        429,
        "slow_down",
        "Too many attempts; try again later.",
        {"Retry-After": str(exc.retry_after)},
    )


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    error = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "invalid_request")
    return json_error(exc.status_code, error, None, dict(exc.headers or {}))


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return json_error(500, "server_error", "The server failed to handle the request.")


EXCEPTION_HANDLERS = {
    BadRequest: bad_request,
    ServiceUnavailable: unavailable,
    RateLimited: rate_limited,
    HTTPException: http_error,
    Exception: server_error,
}
