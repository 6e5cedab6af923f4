"""GET|POST /login/second-factor: the sign-in step after the password for a user with a
second factor. Works without JavaScript: a code from the authenticator app, or one of
the recovery codes. Only a browser holding a live pending sign-in (``mfa.pending``) gets
here, where a success starts the login session; or a signed-in browser asked to pass its
second factor again (a step-up: `acr_values`, `max_age`, a client or role requiring MFA),
where a success records the factor on the session. Then on to ``next``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from authserver import audit
from authserver.accounts import login_sessions, sign_in
from authserver.accounts.login_sessions import ActiveSession
from authserver.accounts.sign_in import SessionStarted
from authserver.audit import AuditEvent
from authserver.i18n.message import N_, Msg, N_plural
from authserver.mfa import factors, pending, second_factor
from authserver.pages import sign_in as page_sign_in
from authserver.pages.app_identity import app_of_next
from authserver.pages.forms import read_page_form, safe_next
from authserver.services import Services
from authserver.storage.db import UnitOfWork
from authserver.web import cookies, session_cookie
from authserver.web.oauth_bridge import RequestMeta, request_meta
from authserver.web.templating import render

WRONG = N_("That code is not correct, or was already used. Try again.")
EXPIRED = N_("Your sign-in has expired or was already completed. Sign in again.")
KINDS = ("totp", "recovery")


def _pending_secret(request: Request) -> str | None:
    return cookies.read(request, page_sign_in.PENDING_COOKIE)


async def _page(
    request: Request,
    next_path: str,
    *,
    error: Msg | None = None,
    kind: str = "totp",
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    app = await run_in_threadpool(app_of_next, request.state.services, next_path)
    context: dict[str, Any] = {"next": next_path, "error": error, "kind": kind, "app": app}
    return render(
        request, "pages/second_factor.html", context, status_code=status_code, headers=headers
    )


def _expired_page(request: Request, next_path: str) -> Response:
    response = render(
        request,
        "pages/second_factor.html",
        {"next": next_path, "expired": EXPIRED, "kind": "totp", "app": None},
        status_code=400,
    )
    cookies.clear(request, response, page_sign_in.PENDING_COOKIE)
    return response


def _is_pending(request: Request) -> bool:
    """A pending sign-in, or a live session whose user has a factor (a step-up)."""
    services = request.state.services
    with services.db.unit_of_work() as uow:
        if pending.resolve(uow, services.clock, _pending_secret(request)) is not None:
            return True
        session = session_cookie.current(request, uow)
        return session is not None and factors.has_second_factor(uow, session.user.id)


async def show(request: Request) -> Response:
    next_path = safe_next(request.query_params.get("next"))
    if not await run_in_threadpool(_is_pending, request):
        return _expired_page(request, next_path)
    return await _page(request, next_path)


@dataclass(frozen=True)
class _Outcome:
    started: SessionStarted | None = None
    # A live session passed its second factor again (step-up): same session and cookie.
    stepped_up: bool = False
    no_pending: bool = False
    retry_after: int | None = None


def _check(request: Request, kind: str, code: str) -> _Outcome:
    services = request.state.services
    meta = request_meta(request)
    with services.db.unit_of_work() as uow:
        waiting = pending.resolve(uow, services.clock, _pending_secret(request))
        if waiting is None:
            session = session_cookie.current(request, uow)
            if session is not None and factors.has_second_factor(uow, session.user.id):
                return _step_up(uow, services, session, kind, code, meta)
            audit.record(
                uow,
                services.clock,
                AuditEvent.MFA_FAILED,
                ip=meta.ip,
                user_agent=meta.user_agent,
                reason="no_pending_sign_in",
            )
            return _Outcome(no_pending=True)
        checked = second_factor.check(
            uow,
            services,
            waiting.user.id,
            "recovery" if kind == "recovery" else "totp",
            code,
            ip=meta.ip,
            user_agent=meta.user_agent,
        )
        if not checked.ok:
            return _Outcome(retry_after=checked.retry_after)
        started = sign_in.after_second_factor(
            uow,
            services,
            waiting,
            session_cookie.current(request, uow),
            checked.methods,
            ip=meta.ip,
            user_agent=meta.user_agent,
        )
        return _Outcome(started=started, no_pending=started is None)


def _step_up(
    uow: UnitOfWork,
    services: Services,
    session: ActiveSession,
    kind: str,
    code: str,
    meta: RequestMeta,
) -> _Outcome:
    checked = second_factor.check(
        uow,
        services,
        session.user.id,
        "recovery" if kind == "recovery" else "totp",
        code,
        ip=meta.ip,
        user_agent=meta.user_agent,
        purpose="step_up",
    )
    if not checked.ok:
        return _Outcome(retry_after=checked.retry_after)
    methods = sign_in.with_second_factor([], checked.methods)
    login_sessions.add_methods(uow, services.clock, session, methods)
    return _Outcome(stepped_up=True)


async def submit(request: Request) -> Response:
    fields = await read_page_form(request)
    next_path = safe_next(fields.get("next"))
    kind = fields.get("kind", "totp")
    kind = kind if kind in KINDS else "totp"
    code = fields.get("code", "")[:64]
    outcome = await run_in_threadpool(_check, request, kind, code)
    if outcome.no_pending:
        return _expired_page(request, next_path)
    if outcome.retry_after is not None:
        minutes = max(1, round(outcome.retry_after / 60))
        message = N_plural(
            "Too many attempts. Please wait about %(n)s minute and try again.",
            "Too many attempts. Please wait about %(n)s minutes and try again.",
            minutes,
        )
        return await _page(
            request,
            next_path,
            error=message,
            kind=kind,
            status_code=429,
            headers={"Retry-After": str(outcome.retry_after)},
        )
    if outcome.stepped_up:
        return RedirectResponse(next_path, status_code=303)
    if outcome.started is None:
        return await _page(request, next_path, error=WRONG, kind=kind, status_code=401)
    response = page_sign_in.respond(request, outcome.started, next_path)
    cookies.clear(request, response, page_sign_in.PENDING_COOKIE)
    return response
