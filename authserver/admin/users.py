"""/admin/users: create, list, read, change roles, disable / enable, set or reset the
password, end every session, delete. The same rules as the CLI (``accounts.management``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from authserver.accounts import login_sessions, management, reset
from authserver.accounts.roles import primary_role
from authserver.accounts.users import create_user as create_account
from authserver.admin.base import AdminCall, int_param, run
from authserver.admin.schemas import (
    MfaFactorOut,
    MfaOut,
    MfaReset,
    Page,
    PasswordReset,
    PasswordResetOut,
    SessionsEnded,
    UserCreate,
    UserOut,
    UserUpdate,
)
from authserver.audit import AuditEvent
from authserver.errors import Conflict
from authserver.mail import send_quietly
from authserver.mfa import factors
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
    def work(call: AdminCall) -> Page[UserOut]:
        offset = int_param(request, "offset", 0, 0, 10_000_000)
        limit = int_param(request, "limit", 100, 1, 1000)
        email = request.query_params.get("email")
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

    def work(call: AdminCall, body: UserUpdate) -> UserOut:
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

    return await run(request, work, body=UserUpdate)


async def end_sessions(request: Request) -> Response:
    user_id = request.path_params["user_id"]

    def work(call: AdminCall) -> SessionsEnded:
        management.get_user(call.uow, user_id)
        ended = login_sessions.end_all(call.uow, call.services.clock, user_id, reason="admin")
        call.audit(AuditEvent.SESSIONS_ENDED, user_id=user_id, count=ended, scope="all")
        return SessionsEnded(ended_sessions=ended)

    return await run(request, work)


async def create_user(request: Request) -> Response:
    def work(call: AdminCall, body: UserCreate) -> UserOut:
        services = call.services
        user = create_account(
            call.uow,
            services.passwords,
            services.clock,
            email=body.email,
            password=body.password,
            roles=body.roles,
            name=body.name,
            email_verified=body.email_verified,
        )
        call.audit(AuditEvent.USER_CREATED, user_id=user.id, roles=list(user.roles))
        return out(user)

    return await run(request, work, status=201, body=UserCreate)


async def delete_user(request: Request) -> Response:
    user_id = request.path_params["user_id"]

    def work(call: AdminCall) -> None:
        if user_id == call.admin_id:
            raise Conflict("an administrator cannot delete their own account here")
        management.delete_user(call.uow, user_id)
        call.audit(AuditEvent.USER_DELETED, user_id=user_id)

    return await run(request, work, status=204)


async def reset_password(request: Request) -> Response:
    user_id = request.path_params["user_id"]

    def work(call: AdminCall, body: PasswordReset) -> PasswordResetOut:
        services = call.services
        if body.password is None:
            user = management.get_user(call.uow, user_id)
            message = reset.send_link(call.uow, services, user, actor=call.admin_id)
        else:
            message = management.set_password(
                call.uow, services, user_id, body.password, actor=call.admin_id
            )
        call.after_commit.append(lambda: send_quietly(services.mailer, message))
        return PasswordResetOut(
            user_id=user_id,
            link_sent=body.password is None,
            password_set=body.password is not None,
        )

    return await run(request, work, body=PasswordReset)


async def get_mfa(request: Request) -> Response:
    user_id = request.path_params["user_id"]

    def work(call: AdminCall) -> MfaOut:
        management.get_user(call.uow, user_id)
        view = factors.overview(call.uow, user_id)
        return MfaOut(
            user_id=user_id,
            factors=[MfaFactorOut(**vars(f)) for f in view.factors],
            recovery_codes_left=view.recovery_codes_left,
        )

    return await run(request, work)


async def reset_mfa(request: Request) -> Response:
    user_id = request.path_params["user_id"]

    def work(call: AdminCall) -> MfaReset:
        management.get_user(call.uow, user_id)
        done = factors.reset(
            call.uow,
            call.services,
            user_id,
            actor=call.admin_id,
            via="admin_api",
            ip=call.ip,
            user_agent=call.user_agent,
        )
        return MfaReset(
            user_id=user_id,
            factors_removed=done.factors_removed,
            ended_sessions=done.sessions_ended,
        )

    return await run(request, work)
