"""/console/users: search, a user's page (roles, linked identities, second factors,
sessions with their apps, disable / enable, recent audit events), and its actions
(unlinking an identity and resetting the second factors after a confirmation). The rules
are ``manage.users``' (shared with the admin API)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from authserver.accounts import roles
from authserver.accounts.roles import DEFAULT_ROLE
from authserver.console.base import View, run
from authserver.console.forms import PAGE_SIZE, checked, page_number
from authserver.i18n.message import N_
from authserver.manage import audit_log, users
from authserver.manage.call import AdminCall
from authserver.mfa.factors import Overview

NOTICES = {
    "roles_saved": N_("The roles were saved; the user's sessions and tokens were ended."),
    "disabled": N_("The account was disabled and its sessions ended."),
    "enabled": N_("The account was enabled."),
    "session_ended": N_("The session was ended."),
    "sessions_ended": N_("Every session of the user was ended."),
    "unlinked": N_("The identity was unlinked and the sessions that came through it ended."),
    "mfa_reset": N_("The second factors were removed and the user's sessions ended."),
}


def _href(user_id: str, notice: str | None = None) -> str:
    return f"/console/users/{user_id}" + (f"?notice={notice}" if notice else "")


async def list_users(request: Request) -> Response:
    query = request.query_params.get("q", "")
    page = page_number(request.query_params)

    def work(call: AdminCall) -> View:
        rows, total = users.find(call, query, (page - 1) * PAGE_SIZE, PAGE_SIZE)
        return View(
            "console/users.html",
            {
                "items": [
                    {
                        "id": u.id,
                        "email": u.email,
                        "name": u.name,
                        "roles": list(u.roles or []),
                        "disabled": u.disabled_at is not None,
                        "created_at": u.created_at,
                    }
                    for u in rows
                ],
                "total": total,
                "q": query,
                "page": page,
                "pages": max(1, -(-total // PAGE_SIZE)),
            },
        )

    return await run(request, work)


async def show_user(request: Request) -> Response:
    user_id = request.path_params["user_id"]

    def work(call: AdminCall) -> View:
        user = users.get(call, user_id)
        overview = users.sessions(call, user_id)
        events, _ = audit_log.page(call, audit_log.AuditFilter(user_id=user_id), 20)
        held = set(user.roles or [])
        return View(
            "console/user.html",
            {
                "u": {
                    "id": user.id,
                    "email": user.email,
                    "name": user.name,
                    "email_verified": user.email_verified,
                    "created_at": user.created_at,
                    "disabled": user.disabled_at is not None,
                    "roles": sorted(held),
                    "is_self": user.id == call.admin_id,
                },
                "roles": [
                    {
                        "name": r.name,
                        "description": r.description,
                        "held": r.name in held,
                        "fixed": r.name == DEFAULT_ROLE,
                    }
                    for r in roles.list_roles(call.uow)
                ],
                "identities": users.identities(call, user_id),
                "mfa": _second_factors(users.second_factors(call, user_id)),
                "sessions": overview.sessions,
                "other_apps": overview.other_apps,
                "events": events,
                "notice": NOTICES.get(request.query_params.get("notice", "")),
            },
        )

    return await run(request, work)


def _second_factors(view: Overview) -> dict[str, object]:
    return {
        "totp": next((f for f in view.factors if f.kind == "totp"), None),
        "keys": [f for f in view.factors if f.kind == "webauthn"],
        "recovery_codes_left": view.recovery_codes_left,
        "any": view.has_second_factor or view.recovery_codes_left > 0,
    }


async def set_roles(request: Request) -> Response:
    user_id = request.path_params["user_id"]

    def work(call: AdminCall, fields: dict[str, str]) -> Response:
        wanted = [r.name for r in roles.list_roles(call.uow) if checked(fields, f"role_{r.name}")]
        users.update(call, user_id, {"roles": wanted})
        return RedirectResponse(_href(user_id, "roles_saved"), status_code=303)

    return await run(request, work, form=True)


async def set_disabled(request: Request) -> Response:
    user_id = request.path_params["user_id"]

    def work(call: AdminCall, fields: dict[str, str]) -> Response:
        disabled = fields.get("disabled") == "true"
        users.update(call, user_id, {"disabled": disabled})
        return RedirectResponse(
            _href(user_id, "disabled" if disabled else "enabled"), status_code=303
        )

    return await run(request, work, form=True)


async def end_sessions(request: Request) -> Response:
    user_id = request.path_params["user_id"]

    def work(call: AdminCall, fields: dict[str, str]) -> Response:
        session_id = fields.get("session_id")
        if session_id:
            users.end_session(call, user_id, session_id)
            return RedirectResponse(_href(user_id, "session_ended"), status_code=303)
        users.end_sessions(call, user_id)
        return RedirectResponse(_href(user_id, "sessions_ended"), status_code=303)

    return await run(request, work, form=True)


async def confirm_unlink(request: Request) -> Response:
    user_id = request.path_params["user_id"]
    identity_id = request.query_params.get("id", "")

    def work(call: AdminCall) -> View:
        user = users.get(call, user_id)
        identity, last = users.identity(call, user_id, identity_id)
        return View(
            "console/user_confirm.html",
            {"what": "unlink", "u": user, "identity": identity, "last_way_in": last},
        )

    return await run(request, work)


async def unlink_identity(request: Request) -> Response:
    user_id = request.path_params["user_id"]

    def work(call: AdminCall, fields: dict[str, str]) -> Response:
        users.unlink_identity(call, user_id, fields.get("identity_id", ""))
        return RedirectResponse(_href(user_id, "unlinked"), status_code=303)

    return await run(request, work, form=True)


async def confirm_mfa_reset(request: Request) -> Response:
    user_id = request.path_params["user_id"]

    def work(call: AdminCall) -> View:
        user = users.get(call, user_id)
        mfa = _second_factors(users.second_factors(call, user_id))
        return View(
            "console/user_confirm.html",
            {"what": "mfa_reset", "u": user, "mfa": mfa, "is_self": user.id == call.admin_id},
        )

    return await run(request, work)


async def reset_mfa(request: Request) -> Response:
    user_id = request.path_params["user_id"]

    def work(call: AdminCall, fields: dict[str, str]) -> Response:
        users.reset_second_factors(call, user_id)
        return RedirectResponse(_href(user_id, "mfa_reset"), status_code=303)

    return await run(request, work, form=True)
