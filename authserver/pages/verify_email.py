"""/email/verify: the link e-mailed at sign-up (or for a new address) and the page that
asks a user to follow it.

``GET /email/verify?token=…`` shows a button; only its ``POST`` (CSRF-checked) uses the
link, so a mail scanner fetching links cannot confirm an address for someone. Without a
token the page says the address needs confirming and offers to send the link again
(``POST /email/verify/resend``, throttled). Afterwards the browser continues to the
pending authorization request kept with the link, if any."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from authserver.accounts import verification
from authserver.errors import InvalidInput
from authserver.i18n.message import N_
from authserver.pages.app_identity import app_of_next, return_path
from authserver.pages.delivery import deliver_after
from authserver.pages.forms import read_page_form, safe_next
from authserver.web import locale, session_cookie
from authserver.web.errors import page_error
from authserver.web.oauth_bridge import request_meta
from authserver.web.templating import render

PATH = verification.VERIFY_PATH
INVALID_TITLE = N_("This link cannot be used")


def _invalid(request: Request, exc: InvalidInput) -> Response:
    return page_error(
        request,
        400,
        INVALID_TITLE,
        exc.message,
        links=[
            {"href": "/account", "text": N_("Go to your account")},
            {"href": "/login", "text": N_("Sign in")},
        ],
    )


def _pending_context(request: Request, next_path: str | None) -> dict[str, Any] | None:
    """The signed-in user's address and the app waiting, or None when not signed in."""
    services = request.state.services
    with services.db.unit_of_work() as uow:
        session = session_cookie.current(request, uow)
        if session is None:
            return None
        user = session.user
        return {
            "email": user.email,
            "verified": user.email_verified,
            "next": return_path(services, next_path) or "",
            "app": app_of_next(services, next_path),
        }


async def show(request: Request) -> Response:
    token = request.query_params.get("token")
    if token is not None:
        return await _confirm_page(request, token)
    next_path = safe_next(request.query_params.get("next"), default="")
    context = await run_in_threadpool(_pending_context, request, next_path)
    if context is None:
        here = PATH + ("?" + urlencode({"next": next_path}) if next_path else "")
        return RedirectResponse("/login?" + urlencode({"next": here}), status_code=303)
    if context["verified"] and context["next"]:
        return RedirectResponse(context["next"], status_code=303)
    context["sent"] = request.query_params.get("sent") == "1"
    return render(request, "pages/verify_email.html", context)


def _check(request: Request, token: str) -> str:
    services = request.state.services
    with services.db.unit_of_work() as uow:
        return verification.check_link(uow, services, token, request_meta(request).ip).email


async def _confirm_page(request: Request, token: str) -> Response:
    try:
        address = await run_in_threadpool(_check, request, token)
    except InvalidInput as exc:
        return _invalid(request, exc)
    context = {"token": token, "email": address}
    return render(request, "pages/verify_email_confirm.html", context)


def _verify(request: Request, token: str) -> verification.Verified:
    services = request.state.services
    meta = request_meta(request)
    with services.db.unit_of_work() as uow:
        session = session_cookie.current(request, uow)
        return verification.verify(
            uow,
            services,
            token,
            signed_in_as=session.user.id if session else None,
            ip=meta.ip,
            user_agent=meta.user_agent,
            locale=locale.negotiate(request),
        )


async def confirm(request: Request) -> Response:
    fields = await read_page_form(request)
    try:
        done = await run_in_threadpool(_verify, request, fields.get("token", ""))
    except InvalidInput as exc:
        return _invalid(request, exc)
    target = done.return_path or "/account?notice=email_verified"
    response = RedirectResponse(target, status_code=303)
    return deliver_after(request, response, done.notice)


def _resend(request: Request, next_path: str | None) -> EmailMessage | None:
    services = request.state.services
    meta = request_meta(request)
    with services.db.unit_of_work() as uow:
        session = session_cookie.current(request, uow)
        if session is None:
            return None
        return verification.resend(
            uow,
            services,
            session.user,
            return_path=return_path(services, next_path),
            ip=meta.ip,
            user_agent=meta.user_agent,
            locale=locale.negotiate(request),
        )


async def resend(request: Request) -> Response:
    fields = await read_page_form(request)
    next_path = safe_next(fields.get("next"), default="")
    message = await run_in_threadpool(_resend, request, next_path)
    query = {"sent": "1", **({"next": next_path} if next_path else {})}
    response = RedirectResponse(PATH + "?" + urlencode(query), status_code=303)
    return deliver_after(request, response, message)
