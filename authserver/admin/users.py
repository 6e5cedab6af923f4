"""/admin/users: list, read, change roles, disable / enable, end every session."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from authserver.accounts import login_sessions, management
from authserver.accounts.roles import primary_role
from authserver.admin.base import AdminCall, int_param, read_model, run
from authserver.admin.schemas import Page, SessionsEnded, UserOut, UserUpdate
from authserver.audit import AuditEvent
from authserver.storage.models import User


def out(u: User) -> UserOut:
    return UserOut(
        id=u.id,
        email=u.email,
        name=u.name,
        role=primary_role(u.roles or []),
        roles=list(u.roles or []),
        email_verified=u.email_verified,
        disabled=u.disabled_at is not None,
        created_at=u.created_at,
    )


async def list_users(request: Request) -> Response:
    offset = int_param(request, "offset", 0, 0, 10_000_000)
    limit = int_param(request, "limit", 100, 1, 1000)
    email = request.query_params.get("email")

    def work(call: AdminCall) -> Page[UserOut]:
        if email:
            user = call.uow.users.find_by_email(email)
            return Page[UserOut](items=[out(user)] if user else [], total=1 if user else 0)
        rows = call.uow.users.list(offset=offset, limit=limit)
        return Page[UserOut](items=[out(u) for u in rows], total=call.uow.users.count())

    return await run(request, work)


async def get_user(request: Request) -> Response:
    user_id = request.path_params["user_id"]
    return await run(request, lambda call: out(management.get_user(call.uow, user_id)))


async def update_user(request: Request) -> Response:
    user_id = request.path_params["user_id"]
    body = await read_model(request, UserUpdate)

    def work(call: AdminCall) -> UserOut:
        clock = call.services.clock
        user = management.get_user(call.uow, user_id)
        changes = body.model_dump(exclude_unset=True, exclude_none=True)
        if "role" in changes:
            user = management.set_role(call.uow, clock, user_id, changes["role"])
        if "roles" in changes:
            user = management.set_roles(call.uow, clock, user_id, changes["roles"])
        if "disabled" in changes:
            user = management.set_disabled(call.uow, clock, user_id, changes["disabled"])
        call.audit(AuditEvent.USER_CHANGED, user_id=user_id, changes=changes)
        return out(user)

    return await run(request, work)


async def end_sessions(request: Request) -> Response:
    user_id = request.path_params["user_id"]

    def work(call: AdminCall) -> SessionsEnded:
        management.get_user(call.uow, user_id)
        ended = login_sessions.end_all(call.uow, call.services.clock, user_id, reason="admin")
        call.audit(AuditEvent.SESSIONS_ENDED, user_id=user_id, count=len(ended), scope="all")
        return SessionsEnded(ended_sessions=len(ended))

    return await run(request, work)
