"""/admin/clients: register, list, read, change, rotate the secret of, delete clients."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from authserver.admin.base import AdminCall, int_param, run
from authserver.admin.schemas import (
    ClientCreate,
    ClientCreated,
    ClientOut,
    ClientUpdate,
    Page,
    SecretOut,
)
from authserver.audit import AuditEvent
from authserver.errors import NotFound
from authserver.oauth import client_registry
from authserver.storage.models import Client


def out(c: Client) -> ClientOut:
    shown = {k: c.extra_metadata.get(k) for k in client_registry.DISPLAY_URIS}
    return ClientOut.model_validate(c, from_attributes=True).model_copy(update=shown)


async def list_clients(request: Request) -> Response:
    def work(call: AdminCall) -> Page[ClientOut]:
        offset = int_param(request, "offset", 0, 0, 10_000_000)
        limit = int_param(request, "limit", 100, 1, 1000)
        rows = call.uow.clients.list(offset=offset, limit=limit)
        return Page[ClientOut](items=[out(c) for c in rows], total=call.uow.clients.count())

    return await run(request, work)


async def create_client(request: Request) -> Response:
    def work(call: AdminCall, body: ClientCreate) -> ClientCreated:
        fields = body.model_dump()
        display = {k: fields.pop(k) for k in client_registry.DISPLAY_URIS}
        spec = client_registry.ClientSpec(
            **fields, extra_metadata={k: v for k, v in display.items() if v is not None}
        )
        client, secret = client_registry.register_client(call.uow, call.services.clock, spec)
        call.audit(AuditEvent.CLIENT_CREATED, client_id=client.client_id)
        return ClientCreated(**out(client).model_dump(), client_secret=secret)

    return await run(request, work, status=201, body=ClientCreate)


async def get_client(request: Request) -> Response:
    client_id = request.path_params["client_id"]

    def work(call: AdminCall) -> ClientOut:
        client = call.uow.clients.get(client_id)
        if client is None:
            raise NotFound(f"no client {client_id}")
        return out(client)

    return await run(request, work)


async def update_client(request: Request) -> Response:
    client_id = request.path_params["client_id"]

    def work(call: AdminCall, body: ClientUpdate) -> ClientOut:
        changes = body.model_dump(exclude_unset=True)
        client, changed = client_registry.update_client(
            call.uow, call.services.clock, client_id, changes
        )
        call.services.clients.invalidate(client_id)
        call.audit(AuditEvent.CLIENT_CHANGED, client_id=client_id, fields=changed)
        return out(client)

    return await run(request, work, body=ClientUpdate)


async def rotate_secret(request: Request) -> Response:
    client_id = request.path_params["client_id"]

    def work(call: AdminCall) -> SecretOut:
        secret = client_registry.rotate_secret(call.uow, call.services.clock, client_id)
        call.services.clients.invalidate(client_id)
        call.audit(AuditEvent.CLIENT_CHANGED, client_id=client_id, change="secret_rotated")
        return SecretOut(client_id=client_id, client_secret=secret)

    return await run(request, work)


async def delete_client(request: Request) -> Response:
    client_id = request.path_params["client_id"]

    def work(call: AdminCall) -> None:
        if not call.uow.clients.delete(client_id):
            raise NotFound(f"no client {client_id}")
        call.services.clients.invalidate(client_id)
        call.audit(AuditEvent.CLIENT_DELETED, client_id=client_id)

    return await run(request, work, status=204)
