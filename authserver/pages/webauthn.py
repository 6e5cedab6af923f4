"""The browser's WebAuthn endpoints (JSON, same origin, CSRF token in the body), driven by
``static/webauthn.js``: options for a ceremony, then its answer.

- ``POST /account/mfa/webauthn/options`` and ``POST /account/mfa/webauthn``: register a
  passkey or security key for the signed-in user (named).
- ``POST /login/webauthn/options`` and ``POST /login/webauthn``: with a pending sign-in, the
  second factor; with a signed-in session whose user has a factor, a step-up; otherwise
  passwordless sign-in with a discoverable credential (user verification required).

Every refusal is a 400 with a readable message, nothing changed, and audited."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from authserver import audit
from authserver.accounts import auth_methods, login_sessions, sign_in
from authserver.audit import AuditEvent
from authserver.i18n.message import N_, Msg, translate
from authserver.mfa import factors, pending, webauthn
from authserver.pages import sign_in as page_sign_in
from authserver.pages.forms import safe_next
from authserver.services import Services
from authserver.storage.db import UnitOfWork
from authserver.web import cookies, csrf, locale
from authserver.web.oauth_bridge import BadRequest, read_json, request_meta
from authserver.web.session_cookie import current as current_session

REFUSED = N_("That passkey or security key could not be used here. Try again.")
NOT_SIGNED_IN = N_("Your session has ended. Sign in again.")
NO_STORE = {"Cache-Control": "no-store"}


def _message(request: Request, text: Msg) -> str:
    services: Services = request.state.services
    return translate(text, services.catalogs.translations(locale.negotiate(request)))


def _error(request: Request, text: Msg, status: int = 400) -> Response:
    return JSONResponse(
        {"error": "webauthn_refused", "message": _message(request, text)},
        status_code=status,
        headers=NO_STORE,
    )


async def _body(request: Request) -> dict[str, Any]:
    """The JSON body, after the CSRF check (the token travels in it)."""
    data = await read_json(request, request.state.services.settings.max_body_bytes)
    if not isinstance(data, dict) or not csrf.is_valid(request, data.get("csrf_token")):
        raise BadRequest(N_("This form has expired. Reload the page and try again."), status=403)
    return data


def _credential(data: dict[str, Any]) -> dict[str, Any]:
    credential = data.get("credential")
    if not isinstance(credential, dict) or not isinstance(credential.get("response"), dict):
        raise webauthn.WebAuthnRefused("malformed_credential")
    return credential


def _in_uow(request: Request, work: Callable[[UnitOfWork, Services], Any]) -> Any:
    services = request.state.services
    with services.db.unit_of_work() as uow:
        return work(uow, services)


def _refused(
    uow: UnitOfWork, services: Services, request: Request, reason: str, **who: Any
) -> None:
    meta = request_meta(request)
    audit.record(
        uow,
        services.clock,
        AuditEvent.MFA_FAILED,
        ip=meta.ip,
        user_agent=meta.user_agent,
        factor="webauthn",
        reason=reason,
        **who,
    )


# Registration (account page)


async def register_options_endpoint(request: Request) -> Response:
    await _body(request)

    def work(uow: UnitOfWork, services: Services) -> dict[str, Any] | None:
        session = current_session(request, uow)
        if session is None:
            return None
        return webauthn.register_options(uow, services, session.user)

    options = await run_in_threadpool(_in_uow, request, work)
    if options is None:
        return _error(request, NOT_SIGNED_IN, 401)
    return JSONResponse(options, headers=NO_STORE)


async def register_endpoint(request: Request) -> Response:
    data = await _body(request)
    name = str(data.get("name") or "")
    meta = request_meta(request)

    def work(uow: UnitOfWork, services: Services) -> str | None:
        session = current_session(request, uow)
        if session is None:
            return "signed_out"
        who = {"user_id": session.user.id}
        try:
            row = webauthn.register(uow, services, session.user, _credential(data), name)
        except webauthn.WebAuthnRefused as refused:
            _refused(uow, services, request, refused.reason, purpose="enrol", **who)
            return "refused"
        audit.record(
            uow,
            services.clock,
            AuditEvent.MFA_ENROLLED,
            ip=meta.ip,
            user_agent=meta.user_agent,
            factor="webauthn",
            credential=row.id,
            backup_eligible=row.backup_eligible,
            **who,
        )
        return None

    outcome = await run_in_threadpool(_in_uow, request, work)
    if outcome == "signed_out":
        return _error(request, NOT_SIGNED_IN, 401)
    if outcome == "refused":
        return _error(request, REFUSED)
    return JSONResponse({"redirect": "/account?notice=passkey_added"}, headers=NO_STORE)


# Sign-in: second factor, step-up, passwordless


def _pending_of(request: Request, uow: UnitOfWork, services: Services) -> pending.Pending | None:
    return pending.resolve(uow, services.clock, cookies.read(request, page_sign_in.PENDING_COOKIE))


async def sign_in_options_endpoint(request: Request) -> Response:
    await _body(request)

    def work(uow: UnitOfWork, services: Services) -> dict[str, Any]:
        waiting = _pending_of(request, uow, services)
        user = waiting.user if waiting is not None else None
        if user is None:
            session = current_session(request, uow)
            if session is not None and factors.has_second_factor(uow, session.user.id):
                user = session.user
        return webauthn.sign_in_options(uow, services, user)

    return JSONResponse(await run_in_threadpool(_in_uow, request, work), headers=NO_STORE)


async def sign_in_endpoint(request: Request) -> Response:
    data = await _body(request)
    next_path = safe_next(str(data.get("next") or ""))
    meta = request_meta(request)

    def work(uow: UnitOfWork, services: Services) -> sign_in.SignInStep | str:
        waiting = _pending_of(request, uow, services)
        session = current_session(request, uow)
        try:
            credential = _credential(data)
            if waiting is not None:
                done = webauthn.verify(uow, services, credential, "second_factor", waiting.user.id)
                started = sign_in.after_second_factor(
                    uow,
                    services,
                    waiting,
                    session,
                    done.methods,
                    ip=meta.ip,
                    user_agent=meta.user_agent,
                )
                _ok(uow, services, request, waiting.user.id, "sign_in")
                return started if started is not None else "refused"
            if session is not None and factors.has_second_factor(uow, session.user.id):
                done = webauthn.verify(uow, services, credential, "second_factor", session.user.id)
                methods = sign_in.with_second_factor([], done.methods)
                login_sessions.add_methods(uow, services.clock, session, methods)
                _ok(uow, services, request, session.user.id, "step_up")
                return "stepped_up"
            done = webauthn.verify(uow, services, credential, "passwordless")
        except webauthn.WebAuthnRefused as refused:
            who = waiting.user.id if waiting else (session.user.id if session else None)
            _refused(uow, services, request, refused.reason, user_id=who)
            return "refused"
        user = uow.users.get(done.credential.user_id)
        if user is None or user.disabled_at is not None:
            _refused(uow, services, request, "user_disabled", user_id=done.credential.user_id)
            return "refused"
        if auth_methods.MULTI_FACTOR not in done.methods:
            # Passwordless needs user verification; fido2 checked the UV flag already.
            _refused(uow, services, request, "no_user_verification", user_id=user.id)
            return "refused"
        _ok(uow, services, request, user.id, "passwordless")
        return sign_in.after_first_factor(
            uow, services, user, session, done.methods, ip=meta.ip, user_agent=meta.user_agent
        )

    outcome = await run_in_threadpool(_in_uow, request, work)
    if outcome == "refused":
        return _error(request, REFUSED)
    if outcome == "stepped_up":
        return JSONResponse({"redirect": next_path}, headers=NO_STORE)
    redirect = page_sign_in.respond(request, outcome, next_path)
    response = JSONResponse({"redirect": redirect.headers["location"]}, headers=NO_STORE)
    for name, value in redirect.headers.items():
        if name == "set-cookie":
            response.headers.append("set-cookie", value)
    cookies.clear(request, response, page_sign_in.PENDING_COOKIE)
    return response


def _ok(uow: UnitOfWork, services: Services, request: Request, user_id: str, purpose: str) -> None:
    meta = request_meta(request)
    audit.record(
        uow,
        services.clock,
        AuditEvent.MFA_OK,
        user_id=user_id,
        ip=meta.ip,
        user_agent=meta.user_agent,
        factor="webauthn",
        purpose=purpose,
    )
