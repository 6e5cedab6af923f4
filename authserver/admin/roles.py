"""/admin/roles: the role names users can hold."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from authserver.accounts import roles
from authserver.admin.base import AdminCall, run
from authserver.admin.schemas import Page, RoleCreate, RoleOut
from authserver.audit import AuditEvent
from authserver.storage.models import Role


def out(role: Role | roles.RoleInfo) -> RoleOut:
    return RoleOut(
        name=role.name, description=role.description, built_in=role.name in roles.BUILT_IN
    )


async def list_roles(request: Request) -> Response:
    def work(call: AdminCall) -> Page[RoleOut]:
        return Page[RoleOut](items=[out(r) for r in roles.list_roles(call.uow)])

    return await run(request, work)


async def create_role(request: Request) -> Response:
    def work(call: AdminCall, body: RoleCreate) -> RoleOut:
        role = roles.define(call.uow, call.services.clock, body.name, body.description)
        call.audit(AuditEvent.ROLE_CREATED, role=role.name)
        return out(role)

    return await run(request, work, status=201, body=RoleCreate)


async def delete_role(request: Request) -> Response:
    name = request.path_params["name"]

    def work(call: AdminCall) -> None:
        roles.remove(call.uow, name)
        call.audit(AuditEvent.ROLE_DELETED, role=name)

    return await run(request, work, status=204)
