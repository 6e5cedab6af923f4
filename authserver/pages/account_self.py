"""The account page's self-service forms: POST /account/profile (name), POST
/account/apps/remove (take an app's access back), GET|POST /account/delete (delete the
account after a fresh sign-in; the operator can switch it off)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from authserver.accounts import self_service
from authserver.accounts.login_sessions import ActiveSession
from authserver.errors import InvalidInput
from authserver.i18n.message import N_
from authserver.pages.account import NotSignedIn, _page_context, _run, _to_login
from authserver.pages.forms import read_page_form
from authserver.services import Services
from authserver.storage.db import UnitOfWork
from authserver.web import session_cookie
from authserver.web.errors import page_error
from authserver.web.oauth_bridge import request_meta
from authserver.web.templating import render

DELETE_PATH = "/account/delete"
REAUTH = "/login?" + urlencode({"next": DELETE_PATH, "notice": "reauth"})


async def change_name(request: Request) -> Response:
    fields = await read_page_form(request)
    meta = request_meta(request)

    def work(uow: UnitOfWork, services: Services, session: ActiveSession) -> dict[str, Any] | None:
        try:
            self_service.rename(
                uow,
                services,
                session,
                fields.get("name", ""),
                ip=meta.ip,
                user_agent=meta.user_agent,
            )
            return None
        except InvalidInput as exc:
            context = _page_context(uow, services, session)
            context.update(
                name_error=exc.message, name_invalid=["name"], new_name=fields.get("name", "")[:200]
            )
            return context

    try:
        failed = await _run(request, work)
    except NotSignedIn:
        return _to_login()
    if failed is not None:
        return render(request, "pages/account.html", failed, status_code=400)
    return RedirectResponse("/account?notice=name_changed", status_code=303)


async def remove_app(request: Request) -> Response:
    fields = await read_page_form(request)
    client_id = fields.get("client_id", "")
    meta = request_meta(request)

    def work(uow: UnitOfWork, services: Services, session: ActiveSession) -> bool:
        return self_service.remove_access(
            uow, services, session.user.id, client_id, ip=meta.ip, user_agent=meta.user_agent
        )

    try:
        removed = await _run(request, work)
    except NotSignedIn:
        return _to_login()
    return RedirectResponse("/account?notice=app_removed" if removed else "/account", 303)


def _refused(request: Request, exc: InvalidInput) -> Response:
    return page_error(
        request,
        403,
        N_("Your account was not deleted"),
        exc.message,
        links=[{"href": "/account", "text": N_("Back to your account")}],
    )


async def confirm_page(request: Request) -> Response:
    def work(uow: UnitOfWork, services: Services, session: ActiveSession) -> str:
        self_service.check_can_delete(services, session)
        return session.user.email

    try:
        email = await _run(request, work)
    except NotSignedIn:
        return RedirectResponse(REAUTH, status_code=303)
    except self_service.NotFresh:
        return RedirectResponse(REAUTH, status_code=303)
    except InvalidInput as exc:
        return _refused(request, exc)
    return render(request, "pages/account_delete.html", {"email": email})


async def delete(request: Request) -> Response:
    fields = await read_page_form(request)
    meta = request_meta(request)
    confirmed = fields.get("confirm") == "yes"

    def work(uow: UnitOfWork, services: Services, session: ActiveSession) -> str | None:
        if not confirmed:
            self_service.check_can_delete(services, session)
            return session.user.email
        self_service.delete_account(uow, services, session, ip=meta.ip, user_agent=meta.user_agent)
        return None

    try:
        unconfirmed = await _run(request, work)
    except NotSignedIn:
        return _to_login()
    except self_service.NotFresh:
        return RedirectResponse(REAUTH, status_code=303)
    except InvalidInput as exc:
        return _refused(request, exc)
    if unconfirmed is not None:
        context = {
            "email": unconfirmed,
            "error": N_("Tick the box to confirm."),
            "invalid_fields": ["confirm"],
        }
        return render(request, "pages/account_delete.html", context, status_code=400)
    response = RedirectResponse("/?notice=account_deleted", status_code=303)
    session_cookie.clear(request, response)
    return response
