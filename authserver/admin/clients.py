"""/admin/clients: register, list, read, change, rotate the secret of, delete clients
(the rules: ``manage.clients``)."""

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
from authserver.manage import clients
from authserver.oauth import client_registry
from authserver.storage.models import Client


def out(c: Client) -> ClientOut:
    shown = {k: c.extra_metadata.get(k) for k in client_registry.DISPLAY_URIS}
    return ClientOut.model_validate(c, from_attributes=True).model_copy(update=shown)


async def list_clients(request: Request) -> Response:
    def work(call: AdminCall) -> Page[ClientOut]:
        offset = int_param(request, "offset", 0, 0, 10_000_000)
        limit = int_param(request, "limit", 100, 1, 1000)
        rows, total = clients.find(call, request.query_params.get("q"), offset, limit)
        return Page[ClientOut](items=[out(c) for c in rows], total=total)

    return await run(request, work)


async def create_client(request: Request) -> Response:
    def work(call: AdminCall, body: ClientCreate) -> ClientCreated:
        client, secret = clients.create(call, body.model_dump())
        return ClientCreated(**out(client).model_dump(), client_secret=secret)

    return await run(request, work, status=201, body=ClientCreate)


async def get_client(request: Request) -> Response:
    client_id = request.path_params["client_id"]
    return await run(request, lambda call: out(clients.get(call, client_id)))


async def update_client(request: Request) -> Response:
    client_id = request.path_params["client_id"]

    def work(call: AdminCall, body: ClientUpdate) -> ClientOut:
        return out(clients.update(call, client_id, body.model_dump(exclude_unset=True)))

    return await run(request, work, body=ClientUpdate)


async def rotate_secret(request: Request) -> Response:
    client_id = request.path_params["client_id"]

    def work(call: AdminCall) -> SecretOut:
        return SecretOut(client_id=client_id, client_secret=clients.rotate_secret(call, client_id))

    return await run(request, work)


async def delete_client(request: Request) -> Response:
    client_id = request.path_params["client_id"]
    return await run(request, lambda call: clients.delete(call, client_id), status=204)
