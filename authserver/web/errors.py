"""Exception handlers: every failure leaves as a standard answer, never a stack trace.

OAuth-style JSON for the protocol endpoints (RFC 6749 §5.2 shape); 503 with
Retry-After when the database or Redis is away; a generic 500 otherwise."""

from __future__ import annotations

import json
import logging

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from authserver.errors import RateLimited, ServiceUnavailable
from authserver.i18n.message import N_, N_plural, Text
from authserver.web.bearer import BearerError, bearer_error
from authserver.web.oauth_bridge import BadRequest
from authserver.web.templating import render

log = logging.getLogger("authserver.errors")

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
NOT_HANDLED = N_("That request could not be handled")
HTTP_MESSAGES = {
    404: N_("There is no page at this address."),
    405: N_("This page cannot be used that way."),
}


# Paths whose errors a person reads in a browser: answered with a page, not JSON.
PAGE_PREFIXES = (
    "/authorize",
    "/login",
    "/consent",
    "/logout",
    "/register",
    "/password",
    "/account",
    "/email",
    "/federation",
    "/console",
)


def is_page(request: Request) -> bool:
    path = request.url.path
    if not path.startswith(PAGE_PREFIXES):
        return False
    return "application/json" not in request.headers.get("accept", "")


def page_error(
    request: Request,
    status: int,
    title: Text,
    message: Text,
    headers: dict[str, str] | None = None,
    *,
    hint: Text | None = None,
    details: str | None = None,
    links: list[dict[str, Text]] | None = None,
) -> Response:
    """An error page: a title, a sentence saying what happened, optionally a hint (what
    to do), links onwards, and a technical details line (an OAuth error code, say)."""
    return render(
        request,
        "errors/error.html",
        {"title": title, "message": message, "hint": hint, "details": details, "links": links},
        status_code=status,
        headers=headers,
    )


def json_error(
    status: int,
    error: str,
    description: Text | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, str] = {"error": error}
    if description:
        body["error_description"] = str(description)
    return Response(
        json.dumps(body),
        status_code=status,
        media_type="application/json",
        headers={**NO_STORE, **(headers or {})},
    )


async def bad_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BadRequest)
    if is_page(request):
        return page_error(request, exc.status, NOT_HANDLED, exc.description)
    return json_error(exc.status, exc.error, exc.description)


async def unavailable(request: Request, exc: Exception) -> Response:
    log.warning("backing service unavailable: %s", exc.__cause__ or exc)
    if is_page(request):
        return page_error(
            request,
            503,
            N_("Temporarily unavailable"),
            N_("The service is briefly unavailable. Please try again in a moment."),
            {"Retry-After": "5"},
        )
    return json_error(
        503, "temporarily_unavailable", "A backing service is unavailable.", {"Retry-After": "5"}
    )


async def rate_limited(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RateLimited)
    request.state.services.metrics.throttled.inc()
    if is_page(request):
        minutes = max(1, round(exc.retry_after / 60))
        return page_error(
            request,
            429,
            N_("Too many attempts"),
            N_plural(
                "Too many attempts. Please wait about %(n)s minute and try again.",
                "Too many attempts. Please wait about %(n)s minutes and try again.",
                minutes,
            ),
            {"Retry-After": str(exc.retry_after)},
            hint=N_("Forgot your password? A reset link by e-mail works right away."),
            links=[
                {"href": "/password/forgot", "text": N_("Reset your password")},
                {"href": "/login", "text": N_("Back to sign in")},
            ],
        )
    return json_error(
        429,
        "slow_down",
        "Too many attempts; try again later.",
        {"Retry-After": str(exc.retry_after)},
    )


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    error = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "invalid_request")
    if is_page(request):
        return page_error(
            request,
            exc.status_code,
            N_("That page could not be shown"),
            HTTP_MESSAGES.get(exc.status_code, N_("The address is not valid here.")),
            dict(exc.headers or {}),
        )
    return json_error(exc.status_code, error, None, dict(exc.headers or {}))


async def client_gone(request: Request, exc: Exception) -> Response:
    """The client hung up (or was cut off for sending too slowly) before its request was
    read: not a server error, and nobody to answer. The access log shows 499, nginx's
    "client closed request"."""
    log.info("client disconnected before the request was read: %s", request.url.path)
    return Response(status_code=499)


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    if is_page(request):
        return page_error(
            request,
            500,
            N_("Something went wrong"),
            N_("The server failed to handle the request. Please try again."),
        )
    return json_error(500, "server_error", "The server failed to handle the request.")


EXCEPTION_HANDLERS = {
    BearerError: bearer_error,
    BadRequest: bad_request,
    ServiceUnavailable: unavailable,
    RateLimited: rate_limited,
    HTTPException: http_error,
    ClientDisconnect: client_gone,
    Exception: server_error,
}
