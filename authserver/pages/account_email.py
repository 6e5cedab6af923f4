"""POST /account/email: change the e-mail address (the current password proves it is the
owner, or for a user without one a recent sign-in; the new address must follow its link,
``accounts.email_change``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from authserver.accounts import email_change
from authserver.accounts.login_sessions import ActiveSession
from authserver.errors import InvalidInput, RateLimited
from authserver.pages.account import (
    EMAIL_REAUTH,
    NotSignedIn,
    _page_context,
    _run,
    _to_login,
)
from authserver.pages.delivery import deliver_after
from authserver.pages.forms import read_page_form
from authserver.services import Services
from authserver.storage.db import UnitOfWork
from authserver.web import locale
from authserver.web.oauth_bridge import request_meta
from authserver.web.templating import render

# The account page's names of the fields an error is about.
FIELDS = {"email": "new_email", "current_password": "email_current_password"}


@dataclass
class _Outcome:
    message: EmailMessage | None = None
    error: InvalidInput | RateLimited | None = None
    context: dict[str, Any] = field(default_factory=dict)


async def change_email(request: Request) -> Response:
    fields = await read_page_form(request)
    new_email = fields.get("new_email", "").strip()
    password = fields.get("current_password", "")
    meta = request_meta(request)
    language = locale.negotiate(request)

    def work(uow: UnitOfWork, services: Services, session: ActiveSession) -> _Outcome:
        try:
            _, message = email_change.request_change(
                uow,
                services,
                session,
                new_email,
                password,
                ip=meta.ip,
                user_agent=meta.user_agent,
                locale=language,
            )
            return _Outcome(message=message)
        except email_change.SignInAgain:
            raise
        except (InvalidInput, RateLimited) as exc:
            # Caught inside the unit of work, so the audit record of the check is kept.
            return _Outcome(error=exc, context=_page_context(uow, services, session))

    try:
        outcome = await _run(request, work)
    except NotSignedIn:
        return _to_login()
    except email_change.SignInAgain:
        return RedirectResponse(EMAIL_REAUTH, status_code=303)
    if isinstance(outcome.error, RateLimited):
        raise outcome.error
    if outcome.error is not None:
        outcome.context["email_error"] = outcome.error.message
        field = getattr(outcome.error, "field", None)
        outcome.context["email_invalid"] = [FIELDS.get(field, field)] if field else []
        outcome.context["new_email"] = new_email[:320]
        return render(request, "pages/account.html", outcome.context, status_code=400)
    response = RedirectResponse("/account?notice=email_change_sent", status_code=303)
    return deliver_after(request, response, outcome.message)
