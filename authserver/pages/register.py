"""GET|POST /register: self-service sign-up, as a page (CSRF-checked form) and as JSON
(``POST /register`` with ``Content-Type: application/json`` -> 201, 400, 409, 429).

The JSON form needs no CSRF token: a cross-site page cannot send a JSON body without a
CORS preflight, which we never grant, and sign-up uses no cookie."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from authserver.accounts import signup
from authserver.accounts.policy import MAX_LENGTH, MIN_LENGTH
from authserver.errors import Conflict, InvalidInput, RateLimited
from authserver.i18n.message import N_, Text
from authserver.pages.forms import read_page_form
from authserver.storage.models import User
from authserver.web.errors import NO_STORE, json_error, page_error
from authserver.web.oauth_bridge import BadRequest, read_json, request_meta
from authserver.web.templating import render

CLOSED = N_("Sign-up is switched off on this server. Ask its operators for an account.")
CLOSED_TITLE = N_("No sign-up here")
FIELDS = ("email", "password", "name")


def _enabled(request: Request) -> bool:
    return bool(request.state.services.settings.registration_enabled)


def _page(
    request: Request, *, email: str = "", name: str = "", error: Text | None = None, status: int
) -> Response:
    context = {
        "email": email[:320],
        "name": name[:200],
        "error": error,
        "min_length": MIN_LENGTH,
        "max_length": MAX_LENGTH,
    }
    return render(request, "pages/register.html", context, status_code=status)


def _register(request: Request, email: str, password: str, name: str | None) -> User:
    services = request.state.services
    meta = request_meta(request)
    with services.db.unit_of_work() as uow:
        return signup.register(
            uow,
            services,
            email=email,
            password=password,
            name=name,
            ip=meta.ip,
            user_agent=meta.user_agent,
        )


async def show(request: Request) -> Response:
    if not _enabled(request):
        return page_error(request, 404, CLOSED_TITLE, CLOSED)
    return _page(request, status=200)


async def submit(request: Request) -> Response:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        return await submit_json(request)
    if not _enabled(request):
        return page_error(request, 404, CLOSED_TITLE, CLOSED)
    fields = await read_page_form(request)
    email, name = fields.get("email", "").strip(), fields.get("name", "")
    password = fields.get("password", "")
    if not email or not password:
        return _page(
            request, email=email, name=name, status=400, error=N_("Enter an e-mail and a password.")
        )
    if password != fields.get("password_confirm", ""):
        return _page(
            request, email=email, name=name, status=400, error=N_("The two passwords differ.")
        )
    try:
        user = await run_in_threadpool(_register, request, email, password, name)
    except InvalidInput as exc:
        return _page(request, email=email, name=name, status=400, error=exc.message)
    except Conflict as exc:
        return _page(request, email=email, name=name, status=409, error=exc.message)
    query = urlencode({"notice": "registered", "login_hint": user.email})
    return RedirectResponse(f"/login?{query}", status_code=303)


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
        user = await run_in_threadpool(_register, request, email, password, name)
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
    body_out = {"id": user.id, "email": user.email, "name": user.name, "email_verified": False}
    return JSONResponse(body_out, status_code=201, headers=NO_STORE)
