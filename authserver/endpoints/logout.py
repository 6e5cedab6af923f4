"""GET|POST /logout: RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).

With a valid `id_token_hint` for the signed-in user, the session ends at once; otherwise
the user confirms on a CSRF-protected page (a third party must not be able to log people
out). Ending the session revokes the token families issued under it. A POST carrying
`Authorization: Bearer` is the API form of logout (``endpoints.logout_api``)."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from authserver import text
from authserver.accounts import login_sessions
from authserver.audit import AuditEvent, record
from authserver.endpoints import logout_api
from authserver.i18n.message import N_
from authserver.oauth.end_session import LogoutRequest, LogoutRequestError, parse
from authserver.web import csrf, session_cookie
from authserver.web.errors import NOT_HANDLED, page_error
from authserver.web.oauth_bridge import parse_params, read_form, reject_repeated, request_meta
from authserver.web.templating import render

PARAMS = (
    "id_token_hint",
    "client_id",
    "post_logout_redirect_uri",
    "state",
    "ui_locales",
    "logout_hint",
)


def _end(request: Request, logout: LogoutRequest, confirmed: bool) -> tuple[str, bool]:
    """('done', had_session) or ('confirm', ...)."""
    services = request.state.services
    meta = request_meta(request)
    with services.db.unit_of_work() as uow:
        session = session_cookie.current(request, uow)
        if session is None:
            return "done", False
        hint_matches = logout.hinted_user is not None and logout.hinted_user == session.user.id
        if not (confirmed or hint_matches):
            return "confirm", True
        login_sessions.end(uow, services.clock, session.id, reason="logout")
        record(
            uow,
            services.clock,
            AuditEvent.LOGOUT,
            user_id=session.user.id,
            client_id=logout.client.client_id if logout.client else None,
            ip=meta.ip,
            user_agent=meta.user_agent,
            login_session_id=session.id,
            via="end_session",
        )
        return "done", True


def _parse(request: Request, params: dict[str, str]) -> LogoutRequest:
    services = request.state.services

    def find_client(client_id: str):  # type: ignore[no-untyped-def]
        def load():  # type: ignore[no-untyped-def]
            with services.db.unit_of_work() as uow:
                return uow.clients.get(client_id)

        return services.clients.get(client_id, load) if len(client_id) <= 100 else None

    keys = services.keys.snapshot().public_keyset
    return parse(params, keys, services.settings.issuer, find_client)


async def logout(request: Request) -> Response:
    if request.method == "POST" and request.headers.get("authorization", "").lower().startswith(
        "bearer "
    ):
        return await logout_api.logout_current(request)
    confirmed = False
    if request.method == "POST":
        limit = request.state.services.settings.max_body_bytes
        params = reject_repeated(await read_form(request, limit))
        if "confirm" in params:
            if not csrf.is_valid(request, params.get(csrf.FIELD)):
                return page_error(
                    request,
                    403,
                    NOT_HANDLED,
                    N_("This form has expired. Go back, reload and try again."),
                )
            confirmed = True
    else:
        params = reject_repeated(parse_params(request.url.query))
    params = {k: v for k, v in params.items() if k in PARAMS}
    try:
        logout_request = await run_in_threadpool(_parse, request, params)
    except LogoutRequestError as exc:
        return page_error(
            request,
            400,
            N_("This sign-out link is not valid"),
            N_("The app that sent you here made a sign-out request this server cannot accept."),
            hint=N_("You are still signed in. You can sign out from your account page."),
            links=[{"href": "/account", "text": N_("Your account")}],
            details=str(exc),
        )
    outcome, _ = await run_in_threadpool(_end, request, logout_request, confirmed)
    if outcome == "confirm":
        client = logout_request.client
        client_name = text.shown(client.name) if client else None
        return render(
            request,
            "pages/logout_confirm.html",
            {"params": sorted(params.items()), "client_name": client_name},
        )
    if logout_request.redirect_uri:
        query = {"state": logout_request.state} if logout_request.state else {}
        target = logout_request.redirect_uri
        if query:
            target += ("&" if "?" in target else "?") + urlencode(query)
        response: Response = RedirectResponse(target, status_code=303)
    else:
        response = render(request, "pages/logged_out.html", {})
    session_cookie.clear(request, response)
    return response
