"""/account: the signed-in user's page -- change password, sessions with their apps,
end one, log out everywhere, unlink an identity. Without a live login session: to
/login and back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from authserver.accounts import account, email_change, reset, self_service
from authserver.accounts.login_sessions import ActiveSession
from authserver.accounts.policy import MAX_LENGTH, MIN_LENGTH
from authserver.errors import Conflict, InvalidInput, NotFound, RateLimited
from authserver.federation import identities
from authserver.i18n.message import N_
from authserver.mail import send_quietly
from authserver.pages import account_mfa
from authserver.pages.forms import read_page_form
from authserver.pages.signed_in import NotSignedIn
from authserver.pages.signed_in import run as _run
from authserver.services import Services
from authserver.storage.db import UnitOfWork
from authserver.storage.models import User
from authserver.web import locale, session_cookie
from authserver.web.oauth_bridge import request_meta
from authserver.web.templating import render

LOGIN = "/login?next=/account"
NOTICES = {
    **account_mfa.NOTICES,
    "password_changed": N_("Your password was changed. Every other device and app was signed out."),
    "session_ended": N_("That session was ended."),
    "email_verified": N_("Your e-mail address is confirmed."),
    "name_changed": N_("Your name was saved."),
    "app_removed": N_("That app's access was removed: it was signed out and asks again next time."),
    "email_change_sent": N_(
        "We sent a link to the new address. Open it to confirm the change; until then your "
        "address stays as it is."
    ),
    "identity_unlinked": N_("That sign-in method was unlinked."),
    "identity_last": N_(
        "That is the only way you can sign in, so it stays linked. Set a password first."
    ),
    # The same, for a user whose providers allow no local password (nothing to set).
    "identity_last_only": N_("That is the only way you can sign in, so it stays linked."),
}


# A user without a password whose sign-in is too old to change the e-mail address signs
# in again (``email_change.proof_of``), then comes back to that section.
EMAIL_REAUTH = "/login?next=/account%23email&notice=reauth"

# The account page's names of the fields an error is about.
PASSWORD_FIELDS = {"password": "new_password"}


def _to_login() -> Response:
    return RedirectResponse(LOGIN, status_code=303)


def _password_section(uow: UnitOfWork, user: User) -> str | None:
    """ "change" (the user has a password), "set" (none yet, but a reset link may give
    one: ``reset.may_set_password``), or None: a federated user whose providers do not
    allow local passwords signs in only through them, so no form is offered."""
    if user.password_hash is not None:
        return "change"
    return "set" if reset.may_set_password(uow, user) else None


def _page_context(
    uow: UnitOfWork, services: Services, session: ActiveSession, language: str | None = None
) -> dict[str, Any]:
    view = account.overview(uow, services, session)
    language = language or services.settings.default_locale
    return {
        "apps": self_service.connected_apps(uow, services, session.user.id, language),
        "deletion_enabled": services.settings.account_deletion_enabled,
        "email": session.user.email,
        "email_verified": session.user.email_verified,
        "email_proof": email_change.proof_of(services, session),
        "email_reauth": EMAIL_REAUTH,
        "name": session.user.name,
        "sessions": view.sessions,
        "other_apps": view.other_apps,
        "identities": identities.linked(uow, session.user.id),
        "password_section": _password_section(uow, session.user),
        "min_length": MIN_LENGTH,
        "max_length": MAX_LENGTH,
        **account_mfa.section_context(uow, services, session),
    }


async def show(request: Request) -> Response:
    language = locale.negotiate(request)
    try:
        context = await _run(
            request, lambda uow, s, session: _page_context(uow, s, session, language)
        )
    except NotSignedIn:
        return _to_login()
    notice = request.query_params.get("notice", "")
    if notice == "identity_last" and context["password_section"] != "set":
        notice = "identity_last_only"
    context["notice"] = NOTICES.get(notice)
    return render(request, "pages/account.html", context)


@dataclass
class _Change:
    done: account.PasswordChanged | None = None
    error: InvalidInput | RateLimited | None = None
    context: dict[str, Any] = field(default_factory=dict)


async def change_password(request: Request) -> Response:
    fields = await read_page_form(request)
    current, new = fields.get("current_password", ""), fields.get("new_password", "")
    meta = request_meta(request)
    language = locale.negotiate(request)

    def work(uow: UnitOfWork, services: Services, session: ActiveSession) -> _Change:
        try:
            if new != fields.get("new_password_confirm", ""):
                raise InvalidInput(
                    N_("The two new passwords differ."), field="new_password_confirm"
                )
            return _Change(
                done=account.change_password(
                    uow,
                    services,
                    session,
                    current,
                    new,
                    ip=meta.ip,
                    user_agent=meta.user_agent,
                    locale=language,
                )
            )
        except (InvalidInput, RateLimited) as exc:
            # Caught inside the unit of work, so the audit record of the check is kept.
            return _Change(error=exc, context=_page_context(uow, services, session))

    try:
        outcome = await _run(request, work)
    except NotSignedIn:
        return _to_login()
    if isinstance(outcome.error, RateLimited):
        raise outcome.error
    if outcome.error is not None or outcome.done is None:
        error = outcome.error
        outcome.context["password_error"] = error.message if error is not None else None
        field = getattr(error, "field", None)
        outcome.context["password_invalid"] = [PASSWORD_FIELDS.get(field, field)] if field else []
        return render(request, "pages/account.html", outcome.context, status_code=400)
    response = RedirectResponse("/account?notice=password_changed", status_code=303)
    session_cookie.store(request, response, outcome.done.cookie_secret)
    response.background = BackgroundTask(
        send_quietly, request.state.services.mailer, outcome.done.message
    )
    return response


async def end_session(request: Request) -> Response:
    fields = await read_page_form(request)
    target = fields.get("session_id", "")
    meta = request_meta(request)

    def work(uow: UnitOfWork, services: Services, session: ActiveSession) -> tuple[bool, bool]:
        ended = account.end_session(
            uow, services, session, target, ip=meta.ip, user_agent=meta.user_agent
        )
        return ended, target == session.id

    try:
        ended, was_current = await _run(request, work)
    except NotSignedIn:
        return _to_login()
    if was_current:
        response = RedirectResponse("/login?notice=logged_out", status_code=303)
        session_cookie.clear(request, response)
        return response
    return RedirectResponse(
        "/account?notice=session_ended" if ended else "/account", status_code=303
    )


async def logout_all(request: Request) -> Response:
    await read_page_form(request)
    meta = request_meta(request)

    def work(uow: UnitOfWork, services: Services, session: ActiveSession) -> int:
        return account.log_out_everywhere(
            uow, services, session.user.id, ip=meta.ip, user_agent=meta.user_agent
        )

    try:
        await _run(request, work)
    except NotSignedIn:
        return _to_login()
    response = RedirectResponse("/login?notice=logged_out", status_code=303)
    session_cookie.clear(request, response)
    return response


async def unlink_identity(request: Request) -> Response:
    """POST /account/identities/unlink: the signed-in user removes a linked identity."""
    fields = await read_page_form(request)
    target = fields.get("identity_id", "")
    meta = request_meta(request)

    def work(uow: UnitOfWork, services: Services, session: ActiveSession) -> str:
        try:
            identities.unlink(
                uow, services.clock, session.user, target, ip=meta.ip, user_agent=meta.user_agent
            )
        except NotFound:
            return ""
        except Conflict:
            return "identity_last"
        return "identity_unlinked"

    try:
        notice = await _run(request, work)
    except NotSignedIn:
        return _to_login()
    return RedirectResponse(f"/account?notice={notice}" if notice else "/account", 303)
