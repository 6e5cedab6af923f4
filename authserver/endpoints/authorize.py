"""GET|POST /authorize (RFC 6749 §4.1.1, OIDC Core §3.1.2.1) and the consent form's POST."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from authserver.i18n.message import N_
from authserver.oauth.authorization import Outcome, authorize
from authserver.oauth.requests import OAuthRequest
from authserver.oauth.scope_descriptions import ScopeView, scope_views
from authserver.pages import protocol_errors
from authserver.pages.consent import consent_page
from authserver.pages.forms import read_page_form
from authserver.web import locale, session_cookie
from authserver.web.errors import NOT_HANDLED, page_error
from authserver.web.oauth_bridge import (
    parse_params,
    public_uri,
    read_form,
    reject_repeated,
    request_meta,
    to_response,
)


def _oauth_request(request: Request, params: dict[str, str]) -> OAuthRequest:
    return OAuthRequest(
        "GET",
        public_uri(request),
        request.headers,
        form=params,
        query=params,
        params={k: [v] for k, v in params.items()},
        meta=request_meta(request),
    )


def _decide(
    request: Request, params: dict[str, str], decision: Literal["approve", "deny"] | None
) -> tuple[Outcome, list[ScopeView]]:
    """What to answer, and for a consent page what each scope means to the user."""
    services = request.state.services
    oauth_request = _oauth_request(request, params)
    with services.db.unit_of_work() as uow:
        server = request.state.oauth(uow, oauth_request.meta)
        session = session_cookie.current(request, uow)
        outcome = authorize(server, oauth_request, session, decision=decision)
        if outcome.kind != "consent":
            return outcome, []
        language = locale.negotiate(request)
        default = services.settings.default_locale
        return outcome, scope_views(uow, outcome.scopes, language, default)


def _respond(
    request: Request, decided: tuple[Outcome, list[ScopeView]], idp_hint: str | None = None
) -> Response:
    outcome, scopes = decided
    if outcome.kind == "redirect":
        assert outcome.response is not None
        response = to_response(outcome.response)
        response.headers["Cache-Control"] = "no-store"
        return response
    if outcome.kind == "login":
        query = {"next": outcome.next_path or "/"}
        if outcome.login_hint:
            query["login_hint"] = outcome.login_hint[:320]
        if idp_hint:
            # Our extension (like Keycloak's kc_idp_hint): go straight to that provider.
            query["idp_hint"] = idp_hint[:40]
        if outcome.fresh is not None:
            # For a federated login from the page: the upstream must re-authenticate too.
            query.update(outcome.fresh.query())
        return RedirectResponse("/login?" + urlencode(query), status_code=303)
    if outcome.kind == "verify_email":
        query = {"next": outcome.next_path or "/"}
        return RedirectResponse("/email/verify?" + urlencode(query), status_code=303)
    if outcome.kind == "second_factor":
        query = {"next": outcome.next_path or "/"}
        return RedirectResponse("/login/second-factor?" + urlencode(query), status_code=303)
    if outcome.kind == "enrol":
        query = {"next": outcome.next_path or "/"}
        return RedirectResponse("/account/mfa/setup?" + urlencode(query), status_code=303)
    if outcome.kind == "consent":
        return consent_page(request, outcome, scopes)
    code = outcome.error_code or "invalid_request"
    return page_error(
        request,
        400,
        N_("This sign-in link is not valid"),
        protocol_errors.sentence(code, outcome.message),
        hint=N_(
            "Go back to the app and start again. If this keeps happening, tell the people "
            "who run the app."
        ),
        details=f"{code}: {outcome.message}" if outcome.message else code,
    )


async def authorize_endpoint(request: Request) -> Response:
    if request.method == "POST":
        limit = request.state.services.settings.max_body_bytes
        params = reject_repeated(await read_form(request, limit))
    else:
        # RFC 6749 §3.1: parameters MUST NOT be included more than once.
        params = reject_repeated(parse_params(request.url.query))
    request.state.ui_locales = params.get("ui_locales")
    decided = await run_in_threadpool(_decide, request, params, None)
    return _respond(request, decided, params.get("idp_hint"))


async def consent_submit(request: Request) -> Response:
    fields = await read_page_form(request)
    decision = fields.pop("decision", "")
    fields.pop("csrf_token", None)
    request.state.ui_locales = fields.get("ui_locales")
    if decision not in ("approve", "deny"):
        return page_error(request, 400, NOT_HANDLED, N_("Choose Allow or Deny."))
    return _respond(request, await run_in_threadpool(_decide, request, fields, decision))
