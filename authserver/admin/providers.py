"""/admin/providers: upstream identity providers (``authserver.federation.providers``)."""

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
from authserver.audit import AuditEvent
from authserver.errors import NotFound
from authserver.federation import identities, providers
from authserver.federation.config import ProviderConfig
from authserver.storage.models import IdentityProvider

CONFIG_FIELDS = set(ProviderConfig.model_fields)


def out(call: AdminCall, provider: IdentityProvider) -> ProviderOut:
    return ProviderOut.model_validate(
        providers.describe(provider, call.services.settings.issuer), strict=False
    )


async def list_providers(request: Request) -> Response:
    def work(call: AdminCall) -> Page[ProviderOut]:
        items = [out(call, p) for p in providers.list_providers(call.uow)]
        return Page[ProviderOut](items=items, total=len(items))

    return await run(request, work)


async def create_provider(request: Request) -> Response:
    def work(call: AdminCall, body: ProviderCreate) -> ProviderOut:
        config = ProviderConfig.model_validate(body.model_dump(include=CONFIG_FIELDS))
        provider = providers.create(
            call.uow,
            providers.registry(call.services),
            body.id,
            body.kind,
            config,
            body.client_secret,
        )
        call.audit(AuditEvent.PROVIDER_CREATED, provider=provider.id, kind=provider.kind)
        return out(call, provider)

    return await run(request, work, status=201, body=ProviderCreate)


async def get_provider(request: Request) -> Response:
    provider_id = request.path_params["provider_id"]

    def work(call: AdminCall) -> ProviderOut:
        return out(call, providers.get(call.uow, provider_id))

    return await run(request, work)


async def update_provider(request: Request) -> Response:
    provider_id = request.path_params["provider_id"]

    def work(call: AdminCall, body: ProviderUpdate) -> ProviderOut:
        sent = body.model_fields_set
        provider = providers.get(call.uow, provider_id)
        changes = body.model_dump(include=sent & CONFIG_FIELDS)
        secret = body.client_secret if "client_secret" in sent else providers.KEEP
        provider = providers.update(
            call.uow,
            providers.registry(call.services),
            provider.id,
            providers.patched(provider, changes),
            secret,
            unlink_identities=body.unlink_identities is True,
        )
        call.audit(AuditEvent.PROVIDER_CHANGED, provider=provider.id, fields=sorted(sent))
        return out(call, provider)

    return await run(request, work, body=ProviderUpdate)


async def delete_provider(request: Request) -> Response:
    provider_id = request.path_params["provider_id"]

    def work(call: AdminCall) -> None:
        unlinked = providers.remove(call.uow, providers.registry(call.services), provider_id)
        call.audit(AuditEvent.PROVIDER_REMOVED, provider=provider_id, identities=unlinked)

    return await run(request, work, status=204)


async def list_identities(request: Request) -> Response:
    user_id = request.path_params["user_id"]

    def work(call: AdminCall) -> Page[IdentityOut]:
        if call.uow.users.get(user_id) is None:
            raise NotFound(f"no user {user_id}")
        items = [IdentityOut(**vars(i)) for i in identities.linked(call.uow, user_id)]
        return Page[IdentityOut](items=items, total=len(items))

    return await run(request, work)


async def unlink_identity(request: Request) -> Response:
    user_id = request.path_params["user_id"]
    identity_id = request.path_params["identity_id"]

    def work(call: AdminCall) -> None:
        user = call.uow.users.get(user_id)
        if user is None:
            raise NotFound(f"no user {user_id}")
        identities.unlink(
            call.uow,
            call.services.clock,
            user,
            identity_id,
            by_admin=call.admin_id,
            ip=call.ip,
            user_agent=call.user_agent,
        )

    return await run(request, work, status=204)
