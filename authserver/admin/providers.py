"""/admin/providers: upstream identity providers, and a user's linked identities; the
rules and the audit records are ``manage.providers``' and ``manage.users``' (shared with
the console)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from authserver.admin.base import AdminCall, run
from authserver.admin.schemas import (
    IdentityOut,
    Page,
    ProviderCreate,
    ProviderOut,
    ProviderUpdate,
)
from authserver.federation import providers as registry
from authserver.federation.config import ProviderConfig
from authserver.manage import providers, users
from authserver.storage.models import IdentityProvider

CONFIG_FIELDS = set(ProviderConfig.model_fields)


def out(call: AdminCall, provider: IdentityProvider) -> ProviderOut:
    return ProviderOut.model_validate(providers.describe(call, provider), strict=False)


async def list_providers(request: Request) -> Response:
    def work(call: AdminCall) -> Page[ProviderOut]:
        items = [out(call, p) for p in registry.list_providers(call.uow)]
        return Page[ProviderOut](items=items, total=len(items))

    return await run(request, work)


async def create_provider(request: Request) -> Response:
    def work(call: AdminCall, body: ProviderCreate) -> ProviderOut:
        config = ProviderConfig.model_validate(body.model_dump(include=CONFIG_FIELDS))
        provider = providers.create(call, body.id, body.kind, config, body.client_secret)
        return out(call, provider)

    return await run(request, work, status=201, body=ProviderCreate)


async def get_provider(request: Request) -> Response:
    provider_id = request.path_params["provider_id"]

    def work(call: AdminCall) -> ProviderOut:
        return out(call, registry.get(call.uow, provider_id))

    return await run(request, work)


async def update_provider(request: Request) -> Response:
    provider_id = request.path_params["provider_id"]

    def work(call: AdminCall, body: ProviderUpdate) -> ProviderOut:
        sent = body.model_fields_set
        provider = providers.update(
            call,
            provider_id,
            body.model_dump(include=sent & CONFIG_FIELDS),
            body.client_secret if "client_secret" in sent else providers.KEEP,
            unlink_identities=body.unlink_identities is True,
        )
        return out(call, provider)

    return await run(request, work, body=ProviderUpdate)


async def delete_provider(request: Request) -> Response:
    provider_id = request.path_params["provider_id"]

    def work(call: AdminCall) -> None:
        providers.remove(call, provider_id)

    return await run(request, work, status=204)


async def list_identities(request: Request) -> Response:
    user_id = request.path_params["user_id"]

    def work(call: AdminCall) -> Page[IdentityOut]:
        items = [IdentityOut(**vars(i)) for i in users.identities(call, user_id)]
        return Page[IdentityOut](items=items, total=len(items))

    return await run(request, work)


async def unlink_identity(request: Request) -> Response:
    user_id = request.path_params["user_id"]
    identity_id = request.path_params["identity_id"]

    def work(call: AdminCall) -> None:
        users.unlink_identity(call, user_id, identity_id)

    return await run(request, work, status=204)
