"""What every console page shares: the access check (``console.access``) before anything
else, one unit of work in the thread pool, CSRF on every form, the console session cookie
renewed, domain errors shown as a readable page with nothing changed.

A handler gives ``run`` a ``work(call)`` (or ``work(call, fields)`` for a form) that
returns a ``View`` to render or a ``Response`` (a redirect after a change)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from authserver.console import access, cookie
from authserver.console.access import Refusal
from authserver.errors import Conflict, InvalidInput, NotFound, SigningKeyError
from authserver.i18n.message import N_, Msg
from authserver.manage.call import AdminCall
from authserver.pages.forms import CsrfFailed
from authserver.services import Services
from authserver.web import cookies, csrf, session_cookie
from authserver.web.oauth_bridge import read_form, reject_repeated, request_meta
from authserver.web.templating import render

VIA = "console"
ERROR_STATUS = {NotFound: 404, Conflict: 409, InvalidInput: 400, SigningKeyError: 409}
REFUSALS: dict[Refusal, tuple[Msg, Msg, list[dict[str, Any]]]] = {
    Refusal.NETWORK: (
        N_("Not available from this network"),
        N_("The administration console can only be used from the networks its operator allowed."),
        [],
    ),
    Refusal.NOT_ADMIN: (
        N_("Administrators only"),
        N_("The administration console is for users with the admin role."),
        [{"href": "/account", "text": N_("Your account")}],
    ),
    Refusal.NO_SECOND_FACTOR: (
        N_("A second factor is needed"),
        N_(
            "The administration console needs a sign-in with a second factor. Add an "
            "authenticator app or a security key to your account, then sign in again."
        ),
        [{"href": "/account", "text": N_("Add a second factor")}],
    ),
}


@dataclass
class View:
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    status: int = 200


Outcome = View | Response


@dataclass
class _Gate:
    refusal: Refusal | None = None
    admin_email: str = ""
    session_id: str = ""
    outcome: Outcome | None = None
    error: Exception | None = None


def to_login(request: Request, notice: str | None = None) -> Response:
    back = request.url.path if request.method == "GET" else "/console"
    target = f"/login?next={quote(back, safe='/')}"
    return RedirectResponse(target + (f"&notice={notice}" if notice else ""), status_code=303)


def _admit(request: Request, services: Services, uow: Any) -> tuple[Any, Refusal | None]:
    session = session_cookie.current(request, uow)
    seen = None
    if session is not None:
        seen = cookie.seen_at(
            services.cookie_secret, session.id, cookies.read(request, cookie.COOKIE)
        )
    return session, access.refusal(session, services.settings, services.clock.now(), seen)


async def run(
    request: Request,
    work: Callable[..., Outcome],
    *,
    form: bool = False,
    on_error: Callable[[Exception, dict[str, str]], View] | None = None,
) -> Response:
    """Check access, then (``form``) the CSRF token, then run ``work`` in one
    transaction. A domain error rolls the transaction back and is shown: by
    ``on_error(exc, fields)`` (the form again, filled in), else as an error page."""
    services: Services = request.state.services
    meta = request_meta(request)
    if not access.network_allowed(services.settings, meta.ip):
        return refused(request, Refusal.NETWORK)
    limit = services.settings.max_body_bytes
    fields = reject_repeated(await read_form(request, limit)) if form else {}

    def call() -> _Gate:
        gate = _Gate()
        after_commit: list[Callable[[], object]] = []
        try:
            with services.db.unit_of_work() as uow:
                session, gate.refusal = _admit(request, services, uow)
                if gate.refusal is not None:
                    return gate
                gate.admin_email, gate.session_id = session.user.email, session.id
                if form and not csrf.is_valid(request, fields.get(csrf.FIELD)):
                    raise CsrfFailed()
                admin = AdminCall(
                    uow,
                    services,
                    session.user.id,
                    meta.ip,
                    meta.user_agent,
                    VIA,
                    session_id=session.id,
                )
                after_commit = admin.after_commit
                gate.outcome = work(admin, fields) if form else work(admin)
        except tuple(ERROR_STATUS) as exc:
            # Rolled back: nothing the work did is kept.
            gate.error = exc
            return gate
        for task in after_commit:
            task()
        return gate

    gate = await run_in_threadpool(call)
    if gate.refusal is not None:
        return refused(request, gate.refusal)
    if gate.error is not None:
        response = _error(request, gate.error, fields, on_error, gate.admin_email)
    elif isinstance(gate.outcome, View):
        response = show(request, gate.outcome, gate.admin_email)
    else:
        assert gate.outcome is not None
        response = gate.outcome
    cookies.write(
        request,
        response,
        cookie.COOKIE,
        cookie.issue(services.cookie_secret, gate.session_id, services.clock.now()),
    )
    return response


def show(request: Request, view: View, admin_email: str) -> Response:
    context = {"admin_email": admin_email, "nav": request.url.path, **view.context}
    return render(request, view.template, context, status_code=view.status)


def _error(
    request: Request,
    exc: Exception,
    fields: dict[str, str],
    on_error: Callable[[Exception, dict[str, str]], View] | None,
    admin_email: str,
) -> Response:
    status = next(s for t, s in ERROR_STATUS.items() if isinstance(exc, t))
    message = exc.message if hasattr(exc, "message") else str(exc)
    if on_error is not None and not isinstance(exc, NotFound):
        view = on_error(exc, fields)
        view.context.setdefault("error", message)
        view.status = status
        return show(request, view, admin_email)
    title = N_("Not found") if isinstance(exc, NotFound) else N_("That change was not made")
    return show(
        request,
        View("console/error.html", {"title": title, "message": message}, status),
        admin_email,
    )


def refused(request: Request, refusal: Refusal) -> Response:
    if refusal is Refusal.NOT_SIGNED_IN:
        return to_login(request)
    if refusal is Refusal.EXPIRED:
        return to_login(request, "console_expired")
    title, message, links = REFUSALS[refusal]
    return render(
        request,
        "errors/error.html",
        {"title": title, "message": message, "links": links},
        status_code=403,
    )
