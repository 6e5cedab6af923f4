"""/admin/users: create, list, read, change roles, disable / enable, set or reset the
password, end every session, delete (the rules: ``manage.users``, shared with the console
and, through ``accounts.management``, the CLI)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from authserver.accounts.roles import primary_role
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
from authserver.mail import send_quietly
from authserver.manage import users
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
            user = users.find_by_email(call, email)
            return Page[UserOut](items=[out(user)] if user else [], total=1 if user else 0)
        rows, total = users.find(call, request.query_params.get("q"), offset, limit)
        return Page[UserOut](items=[out(u) for u in rows], total=total)

    return await run(request, work)


async def get_user(request: Request) -> Response:
    user_id = request.path_params["user_id"]
    return await run(request, lambda call: out(users.get(call, user_id)))


async def update_user(request: Request) -> Response:
    user_id = request.path_params["user_id"]

    def work(call: AdminCall, body: UserUpdate) -> UserOut:
        changes = body.model_dump(exclude_unset=True, exclude_none=True)
        return out(users.update(call, user_id, changes))

    return await run(request, work, body=UserUpdate)


async def end_sessions(request: Request) -> Response:
    user_id = request.path_params["user_id"]

    def work(call: AdminCall) -> SessionsEnded:
        return SessionsEnded(ended_sessions=users.end_sessions(call, user_id))

    return await run(request, work)


async def create_user(request: Request) -> Response:
    def work(call: AdminCall, body: UserCreate) -> UserOut:
        return out(users.create(call, body.model_dump()))

    return await run(request, work, status=201, body=UserCreate)


async def delete_user(request: Request) -> Response:
    user_id = request.path_params["user_id"]
    return await run(request, lambda call: users.delete(call, user_id), status=204)


async def reset_password(request: Request) -> Response:
    user_id = request.path_params["user_id"]

    def work(call: AdminCall, body: PasswordReset) -> PasswordResetOut:
        message = users.reset_password(call, user_id, body.password)
        mailer = call.services.mailer
        call.after_commit.append(lambda: send_quietly(mailer, message))
        return PasswordResetOut(
            user_id=user_id,
            link_sent=body.password is None,
            password_set=body.password is not None,
        )

    return await run(request, work, body=PasswordReset)


async def get_mfa(request: Request) -> Response:
    user_id = request.path_params["user_id"]

    def work(call: AdminCall) -> MfaOut:
        view = users.second_factors(call, user_id)
        return MfaOut(
            user_id=user_id,
            factors=[MfaFactorOut(**vars(f)) for f in view.factors],
            recovery_codes_left=view.recovery_codes_left,
        )

    return await run(request, work)


async def reset_mfa(request: Request) -> Response:
    user_id = request.path_params["user_id"]

    def work(call: AdminCall) -> MfaReset:
        done = users.reset_second_factors(call, user_id)
        return MfaReset(
            user_id=user_id,
            factors_removed=done.factors_removed,
            ended_sessions=done.sessions_ended,
        )

    return await run(request, work)
