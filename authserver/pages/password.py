"""The hosted password pages: /password/forgot asks for an address and always answers
the same; /password/reset sets a new password through the link from the e-mail.

The reset link carries its token in the URL. That URL is only ever answered with a
redirect: the token moves into a short-lived HttpOnly cookie and the browser continues to
the token-less /password/reset, so the token is never in the address bar of a rendered
page, its history entry, or any Referer (pages also send ``Referrer-Policy: no-referrer``).

Opening a link only *offers* its token: anyone can make a browser open a URL, so a link
someone else minted (for their own account) must not become the reset this browser
carries out. The token waits in a pending cookie; the page names the account and only
its button, a POST with the CSRF token, binds the token to the browser."""

from __future__ import annotations

import re
from email.message import EmailMessage

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from authserver.accounts import auth_methods, reset, sign_in
from authserver.accounts.policy import MAX_LENGTH, MIN_LENGTH
from authserver.accounts.sign_in import SignInStep
from authserver.errors import InvalidInput
from authserver.i18n.message import N_, Text
from authserver.mail import send_quietly
from authserver.pages import sign_in as page_sign_in
from authserver.pages.app_identity import return_path
from authserver.pages.forms import read_page_form, safe_next
from authserver.web import cookies, locale
from authserver.web.oauth_bridge import request_meta
from authserver.web.templating import render

RESET_COOKIE = "reset"
# A token from an opened link, not yet confirmed by the button on the page.
PENDING_COOKIE = "reset_offered"
# Long enough to choose a password; the token itself expires on its own schedule.
RESET_COOKIE_SECONDS = 30 * 60
# What hashing.new_secret produces (base64url); anything else cannot be a token of ours.
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{20,128}")


def _deliver(request: Request, response: Response, message: EmailMessage | None) -> Response:
    """Send after the answer has gone out: delivery never delays or shapes the answer."""
    if message is not None:
        response.background = BackgroundTask(send_quietly, request.state.services.mailer, message)
    return response


def _forgot_page(
    request: Request,
    *,
    email: str = "",
    error: Text | None = None,
    sent: bool = False,
    next_path: str = "",
    status: int = 200,
) -> Response:
    context = {
        "email": email[:320],
        "error": error,
        "invalid_fields": ["email"] if error else [],
        "sent": sent,
        "next": next_path,
    }
    return render(request, "pages/forgot.html", context, status_code=status)


async def forgot(request: Request) -> Response:
    wanted = safe_next(request.query_params.get("next"), "")
    pending = await run_in_threadpool(return_path, request.state.services, wanted)
    return _forgot_page(request, next_path=pending or "")


def _request_reset(request: Request, email: str, next_path: str) -> EmailMessage | None:
    services = request.state.services
    meta = request_meta(request)
    with services.db.unit_of_work() as uow:
        return reset.request_reset(
            uow,
            services,
            email,
            ip=meta.ip,
            user_agent=meta.user_agent,
            locale=locale.negotiate(request),
            return_path=return_path(services, next_path),
        )


async def forgot_submit(request: Request) -> Response:
    fields = await read_page_form(request)
    email = fields.get("email", "").strip()
    next_path = safe_next(fields.get("next"), "")
    if not email:
        return _forgot_page(
            request, next_path=next_path, status=400, error=N_("Enter your e-mail address.")
        )
    try:
        message = await run_in_threadpool(_request_reset, request, email, next_path)
    except InvalidInput as exc:
        return _forgot_page(
            request, email=email, next_path=next_path, status=400, error=exc.message
        )
    page = _forgot_page(request, email=email, next_path=next_path, sent=True)
    return _deliver(request, page, message)


def _reset_page(
    request: Request,
    *,
    email: str = "",
    error: Text | None = None,
    invalid: Text | None = None,
    invalid_fields: list[str] | None = None,
    offered: bool = False,
    status: int = 200,
) -> Response:
    context = {
        "email": email,
        "error": error,
        "invalid_fields": invalid_fields or [],
        "invalid": invalid,
        "offered": offered,
        "min_length": MIN_LENGTH,
        "max_length": MAX_LENGTH,
    }
    response = render(request, "pages/reset.html", context, status_code=status)
    if invalid:
        cookies.clear(request, response, RESET_COOKIE)
        cookies.clear(request, response, PENDING_COOKIE)
    return response


def _check_link(request: Request, token: str | None) -> str:
    services = request.state.services
    with services.db.unit_of_work() as uow:
        return reset.check_link(uow, services, token, request_meta(request).ip).email


async def reset_form(request: Request) -> Response:
    token = request.query_params.get("token")
    if token is not None:
        # First load from the e-mail: move the token out of the URL at once, as an offer.
        response = RedirectResponse("/password/reset", status_code=303)
        if TOKEN_SHAPE.fullmatch(token):
            cookies.write(request, response, PENDING_COOKIE, token, max_age=RESET_COOKIE_SECONDS)
        else:
            cookies.clear(request, response, PENDING_COOKIE)
            cookies.clear(request, response, RESET_COOKIE)
        return response
    offered = cookies.read(request, PENDING_COOKIE)
    link = offered if offered is not None else cookies.read(request, RESET_COOKIE)
    try:
        email = await run_in_threadpool(_check_link, request, link)
    except reset.InvalidResetLink as exc:
        return _reset_page(request, invalid=exc.message, status=400)
    return _reset_page(request, email=email, offered=offered is not None)


async def reset_accept(request: Request) -> Response:
    """The button under an opened link: this browser carries out that reset from now on
    (CSRF-checked, so only a person on this site's page can press it)."""
    await read_page_form(request)
    response = RedirectResponse("/password/reset", status_code=303)
    offered = cookies.read(request, PENDING_COOKIE)
    if offered is not None and TOKEN_SHAPE.fullmatch(offered):
        cookies.write(request, response, RESET_COOKIE, offered, max_age=RESET_COOKIE_SECONDS)
    cookies.clear(request, response, PENDING_COOKIE)
    return response


def _complete(
    request: Request, token: str | None, password: str
) -> tuple[reset.ResetDone, SignInStep | None]:
    """Set the password; started from an app's authorization request, also sign this
    browser in (through the one sign-in funnel: a second factor is still asked for) so
    the request continues."""
    services = request.state.services
    meta = request_meta(request)
    with services.db.unit_of_work() as uow:
        done = reset.complete_reset(
            uow,
            services,
            token,
            password,
            ip=meta.ip,
            user_agent=meta.user_agent,
            locale=locale.negotiate(request),
        )
        if done.return_path is None:
            return done, None
        step = sign_in.after_first_factor(
            uow,
            services,
            done.user,
            None,
            [auth_methods.PASSWORD],
            ip=meta.ip,
            user_agent=meta.user_agent,
        )
        return done, step


async def reset_submit(request: Request) -> Response:
    fields = await read_page_form(request)
    token = cookies.read(request, RESET_COOKIE)
    password = fields.get("password", "")
    email = fields.get("username", "")[:320]
    if password != fields.get("password_confirm", ""):
        return _reset_page(
            request,
            email=email,
            status=400,
            error=N_("The two passwords differ."),
            invalid_fields=["password_confirm"],
        )
    try:
        done, step = await run_in_threadpool(_complete, request, token, password)
    except reset.InvalidResetLink as exc:
        return _reset_page(request, invalid=exc.message, status=400)
    except InvalidInput as exc:
        return _reset_page(
            request, email=email, status=400, error=exc.message, invalid_fields=["password"]
        )
    if step is not None and done.return_path is not None:
        # Re-checked now: the client may have changed since the link was sent.
        back = await run_in_threadpool(return_path, request.state.services, done.return_path)
        response = page_sign_in.respond(request, step, back or "/account")
    else:
        response = RedirectResponse("/login?notice=password_reset", status_code=303)
    cookies.clear(request, response, RESET_COOKIE)
    return _deliver(request, response, done.message)
