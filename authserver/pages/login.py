"""GET|POST /login: the hosted login page. A success starts (or renews) the browser's
login session and continues to ``next`` (a local path, e.g. back to /authorize)."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from authserver.accounts import auth_methods, device_cookie, sign_in
from authserver.accounts import login as account_login
from authserver.accounts.sign_in import SignInStep
from authserver.errors import RateLimited
from authserver.federation import fresh as federation_fresh
from authserver.federation import providers as federation
from authserver.federation.fresh import FreshAuth
from authserver.i18n.message import N_, Msg
from authserver.pages import federation as federation_pages
from authserver.pages import sign_in as page_sign_in
from authserver.pages.app_identity import app_of_next
from authserver.pages.forms import read_page_form, safe_next
from authserver.services import Services
from authserver.web import cookies, session_cookie
from authserver.web.oauth_bridge import request_meta
from authserver.web.templating import render

FAILED = N_("Incorrect e-mail or password.")
# Messages other pages may ask the login page to show (?notice=...): fixed texts only, so
# a crafted link cannot put its own words on our page.
NOTICES = {
    "registered": N_("Your account was created. Sign in to continue."),
    "password_reset": N_("Your password was changed. Sign in with your new password."),
    "logged_out": N_("You have been signed out."),
    "reauth": N_("For your security, sign in again to make this change."),
    "console_expired": N_(
        "The administration console was left unused for a while. Sign in again to continue."
    ),
}


def _links(request: Request, return_to: str | None) -> list[dict[str, str | Msg]]:
    """Onwards from the login page; from an app's authorization request, they carry it
    (``next``) so that sign-up and reset end back in the app."""
    query = "?" + urlencode({"next": return_to}) if return_to else ""
    links: list[dict[str, str | Msg]] = [
        {"href": "/password/forgot" + query, "text": N_("Forgot your password?")}
    ]
    if request.state.services.settings.registration_enabled:
        links.append({"href": "/register" + query, "text": N_("Create an account")})
    return links


async def login_page(
    request: Request,
    *,
    email: str = "",
    error: Msg | None = None,
    invalid_fields: list[str] | None = None,
    next_path: str | None = None,
    status_code: int = 200,
    fresh: FreshAuth | None = None,
) -> Response:
    next_path = safe_next(next_path or request.query_params.get("next"))
    # A fresh authentication demanded (``federation.fresh``): the forms carry it on to a
    # federated start (a button, or an e-mail of a provider's domain).
    fresh = fresh or federation_fresh.from_fields(request.query_params)
    app = await run_in_threadpool(app_of_next, request.state.services, next_path)
    buttons = await run_in_threadpool(_buttons, request.state.services)
    return render(
        request,
        "pages/login.html",
        {
            "email": email,
            "error": error,
            "invalid_fields": invalid_fields or [],
            "next": next_path,
            "app": app,
            "notice": NOTICES.get(request.query_params.get("notice", "")),
            "links": _links(request, next_path if app is not None else None),
            "providers": buttons,
            "fresh": fresh.query() if fresh is not None else {},
        },
        status_code=status_code,
    )


def _buttons(services: Services) -> list[dict[str, str | None]]:
    """A "Continue with ..." button per enabled upstream provider (read every time: a
    provider added or disabled in another process shows at once)."""
    with services.db.unit_of_work() as uow:
        return [
            {"id": p.id, "name": p.display_name, "icon": p.icon_url}
            for p in federation.login_choices(uow)
        ]


def _provider_for(services: Services, provider_id: str | None, email: str | None) -> str | None:
    """The enabled provider an `idp_hint` names, or the one an e-mail's domain is bound
    to (home-realm discovery)."""
    with services.db.unit_of_work() as uow:
        if provider_id:
            provider = uow.providers.get(provider_id[:40])
            return provider.id if provider is not None and provider.enabled else None
        found = federation.for_email(uow, email) if email and "@" in email else None
        return found.id if found is not None else None


async def show(request: Request) -> Response:
    hint = request.query_params.get("idp_hint")
    if hint:
        chosen = await run_in_threadpool(_provider_for, request.state.services, hint, None)
        if chosen is not None:
            next_path = safe_next(request.query_params.get("next"))
            fresh = federation_fresh.from_fields(request.query_params)
            return await federation_pages.go_upstream(request, chosen, next_path, fresh)
    return await login_page(request, email=request.query_params.get("login_hint", "")[:320])


def _authenticate(request: Request, email: str, password: str) -> SignInStep | int | None:
    """What the browser gets next; None when the credentials are wrong; the seconds to
    wait (int) when throttled. The audit record is committed in every case."""
    services = request.state.services
    meta = request_meta(request)
    device = device_cookie.device_of(
        services.cookie_secret, cookies.read(request, device_cookie.COOKIE), email
    )
    with services.db.unit_of_work() as uow:
        result = account_login.authenticate(
            uow,
            services,
            email,
            password,
            ip=meta.ip,
            user_agent=meta.user_agent,
            device=device,
        )
        if result.user is None:
            return result.retry_after
        return sign_in.after_first_factor(
            uow,
            services,
            result.user,
            session_cookie.current(request, uow),
            [auth_methods.PASSWORD],
            ip=meta.ip,
            user_agent=meta.user_agent,
        )


async def submit(request: Request) -> Response:
    fields = await read_page_form(request)
    email = fields.get("email", "").strip()
    password = fields.get("password", "")
    next_path = safe_next(fields.get("next"))
    fresh = federation_fresh.from_fields(fields)
    if email and not password:
        # Home-realm discovery: an address of a domain bound to a provider goes there.
        chosen = await run_in_threadpool(_provider_for, request.state.services, None, email)
        if chosen is not None:
            return await federation_pages.go_upstream(request, chosen, next_path, fresh)
    if not email or not password:
        return await login_page(
            request,
            email=email[:320],
            next_path=next_path,
            status_code=400,
            fresh=fresh,
            error=N_("Enter your e-mail address and password."),
            invalid_fields=[n for n, v in (("email", email), ("password", password)) if not v],
        )
    step = await run_in_threadpool(_authenticate, request, email, password)
    if isinstance(step, int):
        raise RateLimited(step)
    if step is None:
        return await login_page(
            request,
            email=email[:320],
            next_path=next_path,
            status_code=401,
            fresh=fresh,
            error=FAILED,
            invalid_fields=["password", "email"],
        )
    response = page_sign_in.respond(request, step, next_path)
    device = device_cookie.issue(request.state.services.cookie_secret, email)
    cookies.write(request, response, device_cookie.COOKIE, device, max_age=device_cookie.LIFETIME)
    return response
