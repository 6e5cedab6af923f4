"""GET|POST /register: self-service sign-up, as a page (CSRF-checked form) and as JSON
(``POST /register`` with ``Content-Type: application/json`` -> 201, 400, 409, 429).

The JSON form needs no CSRF token: a cross-site page cannot send a JSON body without a
CORS preflight, which we never grant, and sign-up uses no cookie."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from authserver.accounts import auth_methods, device_cookie, sign_in, signup, verification
from authserver.accounts.policy import MAX_LENGTH, MIN_LENGTH
from authserver.accounts.sign_in import SignInStep
from authserver.accounts.verification import VERIFY_PATH
from authserver.errors import Conflict, InvalidInput, RateLimited
from authserver.i18n.message import N_, Text
from authserver.pages import sign_in as page_sign_in
from authserver.pages.app_identity import AppView, app_of_next, return_path
from authserver.pages.delivery import deliver_after
from authserver.pages.forms import read_page_form, safe_next
from authserver.storage.models import User
from authserver.web import cookies, locale, session_cookie
from authserver.web.errors import NO_STORE, json_error, page_error
from authserver.web.oauth_bridge import BadRequest, read_json, request_meta
from authserver.web.templating import render

CLOSED = N_("Sign-up is switched off on this server. Ask its operators for an account.")
CLOSED_TITLE = N_("No sign-up here")
FIELDS = ("email", "password", "name")


def _enabled(request: Request) -> bool:
    return bool(request.state.services.settings.registration_enabled)


def _page(
    request: Request,
    *,
    email: str = "",
    name: str = "",
    error: Text | None = None,
    invalid_fields: list[str] | None = None,
    next_path: str = "",
    status: int,
    app: AppView | None = None,
) -> Response:
    context = {
        "app": app,
        "email": email[:320],
        "name": name[:200],
        "error": error,
        "invalid_fields": invalid_fields or [],
        "next": next_path,
        "min_length": MIN_LENGTH,
        "max_length": MAX_LENGTH,
    }
    return render(request, "pages/register.html", context, status_code=status)


@dataclass(frozen=True)
class _SignedUp:
    user: User
    link: EmailMessage
    step: SignInStep | None = None


def _register(
    request: Request,
    email: str,
    password: str,
    name: str | None,
    *,
    next_path: str | None = None,
    sign_in_now: bool = False,
) -> _SignedUp:
    """Create the account and its verification link (to the pending authorization
    request ``next_path`` continues, if any); for the page, also sign this browser in."""
    services = request.state.services
    meta = request_meta(request)
    with services.db.unit_of_work() as uow:
        user = signup.register(
            uow,
            services,
            email=email,
            password=password,
            name=name,
            ip=meta.ip,
            user_agent=meta.user_agent,
        )
        link = verification.send_link(
            uow,
            services,
            user,
            return_path=return_path(services, next_path),
            ip=meta.ip,
            user_agent=meta.user_agent,
            locale=locale.negotiate(request),
        )
        step = None
        if sign_in_now:
            step = sign_in.after_first_factor(
                uow,
                services,
                user,
                session_cookie.current(request, uow),
                [auth_methods.PASSWORD],
                ip=meta.ip,
                user_agent=meta.user_agent,
            )
        return _SignedUp(user, link, step)


async def _app(request: Request, next_path: str | None) -> AppView | None:
    if not next_path:
        return None
    return await run_in_threadpool(app_of_next, request.state.services, next_path)


async def show(request: Request) -> Response:
    if not _enabled(request):
        return page_error(request, 404, CLOSED_TITLE, CLOSED)
    wanted = safe_next(request.query_params.get("next"), "")
    pending = await run_in_threadpool(return_path, request.state.services, wanted)
    return _page(request, next_path=pending or "", status=200, app=await _app(request, pending))


async def submit(request: Request) -> Response:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        return await submit_json(request)
    if not _enabled(request):
        return page_error(request, 404, CLOSED_TITLE, CLOSED)
    fields = await read_page_form(request)
    email, name = fields.get("email", "").strip(), fields.get("name", "")
    password = fields.get("password", "")
    next_path = safe_next(fields.get("next"), "")
    form = {"email": email, "name": name, "next_path": next_path}
    if not email or not password:
        missing = [n for n, v in (("email", email), ("password", password)) if not v]
        return _page(
            request,
            **form,
            status=400,
            error=N_("Enter an e-mail and a password."),
            invalid_fields=missing,
        )
    if password != fields.get("password_confirm", ""):
        return _page(
            request,
            **form,
            status=400,
            error=N_("The two passwords differ."),
            invalid_fields=["password_confirm"],
        )
    try:
        done = await run_in_threadpool(
            _register, request, email, password, name, next_path=next_path, sign_in_now=True
        )
    except InvalidInput as exc:
        fields = [exc.field] if exc.field else []
        return _page(request, **form, status=400, error=exc.message, invalid_fields=fields)
    except Conflict as exc:
        return _page(request, **form, status=409, error=exc.message, invalid_fields=["email"])
    assert done.step is not None
    # Back to the app's pending request (which asks for the link first where the app or
    # the server needs a verified address), else to the "check your inbox" page.
    back = await run_in_threadpool(return_path, request.state.services, next_path)
    response = page_sign_in.respond(request, done.step, back or VERIFY_PATH)
    # This browser proved the password, as on the login page (accounts.device_cookie).
    device = device_cookie.issue(request.state.services.cookie_secret, done.user.email)
    cookies.write(request, response, device_cookie.COOKIE, device, max_age=device_cookie.LIFETIME)
    return deliver_after(request, response, done.link)


def _json_fields(data: Any) -> tuple[str, str, str | None]:
    """email, password, name from a JSON object body (read by ``read_json``)."""
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object.")
    values: dict[str, str | None] = {}
    for key in FIELDS:
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise BadRequest(f"{key} must be a string.")
        values[key] = value
    email, password = values["email"], values["password"]
    if not email or not password:
        raise BadRequest("email and password are required.")
    return email, password, values["name"]


async def submit_json(request: Request) -> Response:
    """201 with the new account; 400 ``invalid_request``; 403 when sign-up is off; 409
    ``already_registered``; 429 ``slow_down`` with Retry-After."""
    if not _enabled(request):
        return json_error(403, "registration_disabled", "Sign-up is switched off.")
    try:
        data = await read_json(request, request.state.services.settings.max_body_bytes)
        email, password, name = _json_fields(data)
        done = await run_in_threadpool(_register, request, email, password, name)
    except BadRequest as exc:
        return json_error(exc.status, exc.error, exc.description)
    except InvalidInput as exc:
        return json_error(400, "invalid_request", str(exc))
    except Conflict as exc:
        return json_error(409, "already_registered", str(exc))
    except RateLimited as exc:
        return json_error(
            429,
            "slow_down",
            "Too many sign-ups; try again later.",
            {"Retry-After": str(exc.retry_after)},
        )
    user = done.user
    body_out = {"id": user.id, "email": user.email, "name": user.name, "email_verified": False}
    response = JSONResponse(body_out, status_code=201, headers=NO_STORE)
    return deliver_after(request, response, done.link)
