"""/account/mfa/...: the signed-in user's second factors -- set up an authenticator app
(QR code and key, confirmed by a first code), new recovery codes (shown once), remove the
app. The account page shows them in its "Two-step verification" section
(``section_context``). Without a live login session: to /login and back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from authserver.accounts.login_sessions import ActiveSession
from authserver.i18n.message import N_, N_plural
from authserver.mfa import enrolment, factors, totp
from authserver.pages import signed_in
from authserver.pages.forms import read_page_form, safe_next
from authserver.services import Services
from authserver.storage.db import UnitOfWork
from authserver.web.oauth_bridge import request_meta
from authserver.web.templating import render

T = TypeVar("T")
LOGIN = "/login?next=/account"
# A sign-in, then back to the account page's second factors, to try again.
REAUTH = "/login?next=/account%23two-step&notice=reauth"
SETUP = "/account/mfa/totp"
WRONG_CODE = N_("That code is not correct. Check the time on your phone and try again.")
NOTICES = {
    "totp_added": N_("Your authenticator app is set up."),
    "totp_removed": N_("Your authenticator app was removed."),
    "passkey_added": N_("Your passkey or security key was added."),
    "passkey_removed": N_("That passkey or security key was removed."),
}


class _SignedOut:
    """The browser has no live login session."""


SIGNED_OUT = _SignedOut()


async def _run(
    request: Request, work: Callable[[UnitOfWork, Services, ActiveSession], T]
) -> T | _SignedOut:
    try:
        return await signed_in.run(request, work)
    except signed_in.NotSignedIn:
        return SIGNED_OUT


def _to(path: str) -> Response:
    return RedirectResponse(path, status_code=303)


def section_context(uow: UnitOfWork, services: Services, session: ActiveSession) -> dict[str, Any]:
    """What the account page's "Two-step verification" section shows."""
    view = factors.overview(uow, session.user.id)
    totp_factor = next((f for f in view.factors if f.kind == "totp"), None)
    return {
        "mfa": {
            "totp": totp_factor,
            "keys": [f for f in view.factors if f.kind == "webauthn"],
            "has_second_factor": view.has_second_factor,
            "recovery_codes_left": view.recovery_codes_left,
        }
    }


def _next(value: str | None) -> str | None:
    """Where to continue after setting up a factor, when the user was sent to do so."""
    return safe_next(value) if value else None


def _with_next(path: str, next_path: str | None) -> str:
    return f"{path}?{urlencode({'next': next_path})}" if next_path else path


async def setup(request: Request) -> Response:
    """GET /account/mfa/setup?next=...: a user who must have a second factor and has none
    is sent here right after the password (or by /authorize): set one up, then continue."""
    next_path = safe_next(request.query_params.get("next"))

    def work(uow: UnitOfWork, services: Services, session: ActiveSession) -> bool:
        return factors.has_second_factor(uow, session.user.id)

    has_factor = await _run(request, work)
    if isinstance(has_factor, _SignedOut):
        return _to(_with_next("/login", next_path))
    if has_factor:
        return _to(next_path)
    return render(request, "pages/mfa_required.html", {"next": next_path})


async def begin_totp(request: Request) -> Response:
    fields = await read_page_form(request)
    next_path = _next(fields.get("next"))

    def work(uow: UnitOfWork, services: Services, session: ActiveSession) -> bool:
        current = uow.mfa.totp_of(session.user.id)
        if current is not None and current.confirmed_at is not None:
            return False
        totp.begin(uow, services, session.user)
        return True

    started = await _run(request, work)
    if isinstance(started, _SignedOut):
        return _to(LOGIN)
    return _to(_with_next(SETUP, next_path) if started else next_path or "/account")


def _setup_context(
    uow: UnitOfWork, services: Services, session: ActiveSession
) -> dict[str, Any] | None:
    enrol = totp.unconfirmed(uow, services, session.user)
    if enrol is None:
        return None
    # The key in groups of four, as authenticator apps show it.
    key = " ".join(enrol.secret[i : i + 4] for i in range(0, len(enrol.secret), 4))
    return {"qr": enrol.qr_data_uri, "key": key, "uri": enrol.uri}


async def show_totp(request: Request) -> Response:
    context = await _run(request, _setup_context)
    if isinstance(context, _SignedOut):
        return _to(LOGIN)
    if context is None:
        return _to("/account")
    context["next"] = _next(request.query_params.get("next"))
    return render(request, "pages/totp_setup.html", context)


async def confirm_totp(request: Request) -> Response:
    fields = await read_page_form(request)
    meta = request_meta(request)
    code = fields.get("code", "")[:64]
    next_path = _next(fields.get("next"))

    def work(
        uow: UnitOfWork, services: Services, session: ActiveSession
    ) -> tuple[enrolment.Confirmed, dict[str, Any] | None]:
        done = enrolment.confirm_totp(
            uow, services, session, code, ip=meta.ip, user_agent=meta.user_agent
        )
        return done, (None if done.ok else _setup_context(uow, services, session))

    outcome = await _run(request, work)
    if isinstance(outcome, _SignedOut):
        return _to(LOGIN)
    done, context = outcome
    if not done.ok:
        if context is None:
            return _to("/account")
        context["next"] = next_path
        if done.retry_after is not None:
            minutes = max(1, round(done.retry_after / 60))
            context["error"] = N_plural(
                "Too many attempts. Please wait about %(n)s minute and try again.",
                "Too many attempts. Please wait about %(n)s minutes and try again.",
                minutes,
            )
            return render(
                request,
                "pages/totp_setup.html",
                context,
                status_code=429,
                headers={"Retry-After": str(done.retry_after)},
            )
        context["error"] = WRONG_CODE
        return render(request, "pages/totp_setup.html", context, status_code=400)
    if done.recovery_codes is None:
        return _to(next_path or "/account?notice=totp_added")
    return render(
        request,
        "pages/recovery_codes.html",
        {"codes": done.recovery_codes, "first": True, "next": next_path},
    )


async def new_recovery_codes(request: Request) -> Response:
    await read_page_form(request)
    meta = request_meta(request)

    def work(uow: UnitOfWork, services: Services, session: ActiveSession) -> list[str] | None:
        return enrolment.new_recovery_codes(
            uow, services, session, ip=meta.ip, user_agent=meta.user_agent
        )

    outcome = await _run(request, work)
    if isinstance(outcome, _SignedOut):
        return _to(LOGIN)
    if outcome is None:
        return _to("/account")
    return render(request, "pages/recovery_codes.html", {"codes": outcome, "first": False})


async def remove_totp(request: Request) -> Response:
    await read_page_form(request)
    meta = request_meta(request)

    def work(uow: UnitOfWork, services: Services, session: ActiveSession) -> bool | None:
        if not enrolment.signed_in_recently(services, session):
            return None
        return factors.remove_totp(
            uow, services, session.user.id, ip=meta.ip, user_agent=meta.user_agent
        )

    removed = await _run(request, work)
    if isinstance(removed, _SignedOut):
        return _to(LOGIN)
    if removed is None:
        return _to(REAUTH)
    return _to("/account?notice=totp_removed" if removed else "/account")


async def remove_webauthn(request: Request) -> Response:
    fields = await read_page_form(request)
    meta = request_meta(request)
    target = fields.get("credential", "")

    def work(uow: UnitOfWork, services: Services, session: ActiveSession) -> bool | None:
        if not enrolment.signed_in_recently(services, session):
            return None
        return factors.remove_webauthn(
            uow, services, session.user.id, target, ip=meta.ip, user_agent=meta.user_agent
        )

    removed = await _run(request, work)
    if isinstance(removed, _SignedOut):
        return _to(LOGIN)
    if removed is None:
        return _to(REAUTH)
    return _to("/account?notice=passkey_removed" if removed else "/account")
