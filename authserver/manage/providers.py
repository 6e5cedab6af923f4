"""Upstream identity providers: register, change, enable / disable, remove; the rules
are ``federation.providers``' (the registry), this adds the audit record."""

from __future__ import annotations

from typing import Any

from authserver.audit import AuditEvent
from authserver.federation import providers
from authserver.federation.config import ProviderConfig
from authserver.manage.call import AdminCall
from authserver.storage.models import IdentityProvider

KEEP = providers.KEEP


def describe(call: AdminCall, provider: IdentityProvider) -> dict[str, Any]:
    return providers.describe(provider, call.services.settings.issuer)


def create(
    call: AdminCall,
    provider_id: str,
    kind: str,
    config: ProviderConfig,
    client_secret: str | None = None,
) -> IdentityProvider:
    provider = providers.create(
        call.uow, providers.registry(call.services), provider_id, kind, config, client_secret
    )
    call.audit(AuditEvent.PROVIDER_CREATED, provider=provider.id, kind=provider.kind)
    return provider


def update(
    call: AdminCall,
    provider_id: str,
    changes: dict[str, Any],
    client_secret: Any = KEEP,
    *,
    unlink_identities: bool = False,
) -> IdentityProvider:
    """Apply ``changes`` (top-level ``ProviderConfig`` fields; the configuration is
    validated as a whole) and, unless ``KEEP``, replace the secret (None removes it).
    A change that repoints a provider with linked identities is refused unless
    ``unlink_identities`` (``federation.providers.update``)."""
    provider = providers.get(call.uow, provider_id)
    provider = providers.update(
        call.uow,
        providers.registry(call.services),
        provider.id,
        providers.patched(provider, changes),
        client_secret,
        unlink_identities=unlink_identities,
    )
    fields = sorted({*changes, *(() if client_secret is KEEP else ("client_secret",))})
    call.audit(AuditEvent.PROVIDER_CHANGED, provider=provider.id, fields=fields)
    return provider


def remove(call: AdminCall, provider_id: str) -> int:
    """Delete it with the identities linked through it; how many identities went."""
    unlinked = providers.remove(call.uow, providers.registry(call.services), provider_id)
    call.audit(AuditEvent.PROVIDER_REMOVED, provider=provider_id, identities=unlinked)
    return unlinked
