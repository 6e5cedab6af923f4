"""The browser side of federated sign-in: POST /federation/{id}/start (a login-page
button), GET /federation/{id}/callback (the upstream sends the browser back), and
GET|POST /federation/link (an account with the upstream e-mail exists: sign in to it to
link). Handlers parse, call ``federation.flow`` / ``federation.linking``, respond."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from authserver.accounts import login as account_login
from authserver.errors import RateLimited
from authserver.federation import callback as upstream_callback
from authserver.federation import flow, fresh, linking
from authserver.federation.http import UpstreamUnavailable
from authserver.i18n.message import N_, Msg
from authserver.pages import sign_in as page_sign_in
from authserver.pages.forms import read_page_form, safe_next
from authserver.web import cookies, session_cookie
from authserver.web.errors import page_error
from authserver.web.oauth_bridge import parse_params, reject_repeated, request_meta
from authserver.web.templating import render

BROWSER_COOKIE = "fed_browser"
LINK_COOKIE = "fed_link"
TRY_AGAIN = {"href": "/login", "text": N_("Back to sign-in")}
REFUSALS: dict[str, tuple[int, Msg]] = {
    "state": (
        400,
        N_(
            "This sign-in did not start in this browser, was already used, or took too "
            "long. Start again from the sign-in page."
        ),
    ),
    "provider_disabled": (403, N_("Signing in with this provider is turned off.")),
    "upstream_error": (
        403,
        N_("The identity provider did not sign you in (it may have been cancelled)."),
    ),
    "invalid_answer": (
        502,
        N_("The identity provider's answer could not be verified, so you were not signed in."),
    ),
    "unavailable": (
        502,
        N_("The identity provider could not be reached. Try again in a moment."),
    ),
    "user_disabled": (403, N_("This account is disabled.")),
    "no_account": (
        403,
        N_("There is no account for you here, and this provider does not create accounts."),
    ),
    "no_email": (
        403,
        N_(
            "The identity provider did not tell us your e-mail address, so no account can "
            "be created for you."
        ),
    ),
    "domain_not_allowed": (
        403,
        N_("Accounts for your e-mail domain cannot be created through this provider."),
    ),
}


# The account has a second factor: sign in to it fully first (``linking.SecondFactorFirst``).
SECOND_FACTOR_FIRST = N_(
    "This account has a second factor: sign in to it first in this browser, with your "
    "password and your second factor, then come back here and enter your password again."
)


def browser_of(request: Request) -> str | None:
    return cookies.read(request, BROWSER_COOKIE)


def refusal_page(
    request: Request, reason: str, detail: str = "", provider_name: str = ""
) -> Response:
    status, message = REFUSALS.get(reason, REFUSALS["invalid_answer"])
    if reason == "not_reauthenticated":
        # A fresh authentication was demanded; the upstream answered from its session.
        status, message = (
            403,
            N_(
                "%(provider)s did not ask you to sign in again, but the app needs you to "
                "confirm who you are right now, so you were not signed in. Sign out of "
                "%(provider)s and try again, or sign in another way.",
                provider=provider_name or "The identity provider",
            ),
        )
    return page_error(
        request,
        status,
        N_("You were not signed in"),
        message,
        links=[TRY_AGAIN],
        details=detail or reason,
    )


async def go_upstream(
    request: Request, provider_id: str, next_path: str, fresh_auth: fresh.FreshAuth | None = None
) -> Response:
    """Record the round trip and send the browser to the upstream (shared by the button,
    home-realm discovery and the `idp_hint` of /authorize). ``fresh_auth``: the login
    page says a fresh authentication is demanded (``federation.fresh``)."""
    services = request.state.services

    def work() -> flow.Started:
        with services.db.unit_of_work() as uow:
            return flow.begin(
                uow, services, provider_id, browser_of(request), next_path, fresh=fresh_auth
            )

    try:
        started = await run_in_threadpool(work)
    except flow.ProviderUnavailable:
        return refusal_page(request, "provider_disabled")
    except UpstreamUnavailable as exc:
        meta, detail = request_meta(request), str(exc)

        def audit() -> None:
            with services.db.unit_of_work() as uow:
                flow.refused_at_start(uow, services, meta, provider_id, detail)

        await run_in_threadpool(audit)
        return refusal_page(request, "unavailable")
    return to_upstream(request, started)


def to_upstream(request: Request, started: flow.Started) -> Response:
    """The redirect to the upstream, with the browser binding of the round trip (also
    the console's test login)."""
    response = RedirectResponse(started.url, status_code=303)
    response.headers["Cache-Control"] = "no-store"
    cookies.write(
        request,
        response,
        BROWSER_COOKIE,
        started.browser,
        max_age=request.state.services.settings.federation_login_ttl,
    )
    return response


async def start(request: Request) -> Response:
    fields = await read_page_form(request)
    return await go_upstream(
        request,
        request.path_params["provider_id"],
        safe_next(fields.get("next")),
        fresh.from_fields(fields),
    )


async def callback(request: Request) -> Response:
    services = request.state.services
    params = reject_repeated(parse_params(request.url.query))
    provider_id = request.path_params["provider_id"]
    meta = request_meta(request)

    def work() -> flow.Callback:
        with services.db.unit_of_work() as uow:
            current = session_cookie.current(request, uow)
            return upstream_callback.complete(
                uow, services, provider_id, params, browser_of(request), current, meta
            )

    return callback_response(request, await run_in_threadpool(work))


def callback_response(request: Request, result: flow.Callback) -> Response:
    """The page or redirect a callback leads to (OIDC callback and SAML ACS alike)."""
    services = request.state.services
    if result.test:
        # An admin's test login: to its result in the console; nobody is signed in.
        response: Response = RedirectResponse(result.return_to, status_code=303)
        response.headers["Cache-Control"] = "no-store"
        return response
    if result.refused:
        return refusal_page(request, result.refused, result.detail, result.provider_name)
    if result.link_token:
        response = RedirectResponse("/federation/link", status_code=303)
        cookies.write(
            request,
            response,
            LINK_COOKIE,
            result.link_token,
            max_age=services.settings.federation_login_ttl,
        )
        return response
    assert result.step is not None
    return page_sign_in.respond(request, result.step, safe_next(result.return_to))


def _pending(request: Request) -> linking.PendingLink | None:
    services = request.state.services
    with services.db.unit_of_work() as uow:
        return linking.pending(
            uow, services, cookies.read(request, LINK_COOKIE), browser_of(request)
        )


def _link_gone(request: Request) -> Response:
    return page_error(
        request,
        400,
        N_("This link request is no longer valid"),
        N_(
            "Linking must be finished in the browser that came back from the identity "
            "provider, within a few minutes. Start again from the sign-in page."
        ),
        links=[TRY_AGAIN],
    )


async def link_page(
    request: Request,
    found: linking.PendingLink | None = None,
    error: Msg | None = None,
    status_code: int = 200,
) -> Response:
    found = found or await run_in_threadpool(_pending, request)
    if found is None:
        return _link_gone(request)
    return render(
        request,
        "pages/federation_link.html",
        {
            "provider": found.provider.display_name,
            "email": found.user.email,
            "error": error,
            "next": found.link.return_to,
            # Back here once signed in with the second factor (``SECOND_FACTOR_FIRST``).
            "sign_in_first": error is SECOND_FACTOR_FIRST,
        },
        status_code=status_code,
    )


async def link_submit(request: Request) -> Response:
    fields = await read_page_form(request)
    password = fields.get("password", "")
    services = request.state.services
    meta = request_meta(request)
    token = cookies.read(request, LINK_COOKIE)

    def work() -> tuple[linking.PendingLink | None, object]:
        with services.db.unit_of_work() as uow:
            found = linking.pending(uow, services, token, browser_of(request))
            if found is None or not password or token is None:
                return found, None
            checked = account_login.authenticate(
                uow,
                services,
                found.user.email,
                password,
                ip=meta.ip,
                user_agent=meta.user_agent,
                purpose="federation_link",
            )
            if checked.user is None:
                return found, checked.retry_after
            current = session_cookie.current(request, uow)
            try:
                step = linking.confirm(uow, services, found, token, checked.user, current, meta)
            except linking.SecondFactorFirst:
                return found, "second_factor"
            return found, step or "gone"

    found, outcome = await run_in_threadpool(work)
    if found is None or outcome == "gone":
        return _link_gone(request)
    if isinstance(outcome, int):
        raise RateLimited(outcome)
    if outcome == "second_factor":
        return await link_page(request, found, SECOND_FACTOR_FIRST, status_code=403)
    if outcome is None:
        message = N_("Incorrect password.") if password else N_("Enter your password.")
        return await link_page(request, found, message, status_code=401 if password else 400)
    response = page_sign_in.respond(request, outcome, safe_next(found.link.return_to))  # type: ignore[arg-type]
    cookies.clear(request, response, LINK_COOKIE)
    return response
