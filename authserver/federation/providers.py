"""The provider registry: upstream identity providers stored in the database, so every
process sees a change at its next request (nothing is cached here). The admin API, the
CLI and the console call these functions; each change is audited by its caller.

The upstream client secret is sealed with ``services.envelope`` under a context naming
the provider, and is never returned: outputs say only whether one is set."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from authserver import audit
from authserver.accounts import roles
from authserver.audit import AuditEvent
from authserver.clock import Clock, to_datetime
from authserver.errors import Conflict, InvalidInput, NotFound
from authserver.federation import kinds
from authserver.federation.config import PROVIDER_ID, ProviderConfig, ascii_domain
from authserver.federation.saml import provider_settings as saml_settings
from authserver.federation.saml.config import service_provider as saml_sp
from authserver.federation.urls import display_url_problem
from authserver.keys.envelope import Envelope
from authserver.services import Services
from authserver.storage.db import UnitOfWork
from authserver.storage.models import IdentityProvider

MAX_SECRET = 2000
# The settings that say who the upstream is, or what its subject means: a change hands
# every linked (provider, subject) to another upstream, so it unlinks them or is refused.
IDENTITY_SETTINGS = (
    "issuer",
    "client_id",
    "tenant",
    "allowed_tenants",
    "entity_id",
    "subject",
    "subject_attribute",
)
# "Leave it as it is" for the client secret of an update (None removes it).
KEEP = object()


@dataclass(frozen=True)
class Registry:
    """What the registry's functions need besides the unit of work."""

    clock: Clock
    envelope: Envelope
    allow_private_networks: bool
    # A SAML provider's metadata_url is fetched within it (AUTHSERVER_FEDERATION_TIMEOUT).
    timeout: float = 10.0


def registry(services: Services) -> Registry:
    return Registry(
        services.clock,
        services.envelope,
        services.settings.federation_allow_private_networks,
        services.settings.federation_timeout,
    )


def secret_context(provider_id: str) -> str:
    return f"identity_provider:{provider_id}:client_secret"


def config_of(provider: IdentityProvider) -> ProviderConfig:
    """The stored configuration as the typed model."""
    return ProviderConfig.model_validate(
        {
            "display_name": provider.display_name,
            "icon_url": provider.icon_url,
            "enabled": provider.enabled,
            "domains": list(provider.domains or []),
            "settings": dict(provider.settings or {}),
            "policy": dict(provider.policy or {}),
            "mapping": dict(provider.mapping or {}),
        },
        strict=False,
    )


def patched(provider: IdentityProvider, changes: dict[str, Any]) -> ProviderConfig:
    """The provider's configuration with ``changes`` (top-level fields) applied, validated
    as a whole; ``InvalidInput`` when the result is not valid."""
    current = config_of(provider).model_dump()
    try:
        return ProviderConfig.model_validate({**current, **changes}, strict=False)
    except ValidationError as exc:
        raise InvalidInput(_problems(exc)) from None


def parse_config(data: dict[str, Any]) -> ProviderConfig:
    try:
        return ProviderConfig.model_validate(data, strict=False)
    except ValidationError as exc:
        raise InvalidInput(_problems(exc)) from None


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())


def get(uow: UnitOfWork, provider_id: str) -> IdentityProvider:
    provider = uow.providers.get(provider_id) if isinstance(provider_id, str) else None
    if provider is None:
        raise NotFound(f"no provider {provider_id}")
    return provider


def list_providers(uow: UnitOfWork) -> list[IdentityProvider]:
    return list(uow.providers.list())


def login_choices(uow: UnitOfWork) -> list[IdentityProvider]:
    """The enabled providers, in the order the login page shows their buttons."""
    return list(uow.providers.list(enabled_only=True))


def for_email(uow: UnitOfWork, email: str) -> IdentityProvider | None:
    """The enabled provider an e-mail's domain is bound to (home-realm discovery)."""
    try:
        domain = ascii_domain(email.rpartition("@")[2])
    except ValueError:
        return None
    if not domain:
        return None
    for provider in uow.providers.list(enabled_only=True):
        if domain in (provider.domains or []):
            return provider
    return None


def _validate(
    uow: UnitOfWork,
    registry: Registry,
    provider_id: str,
    kind: str,
    config: ProviderConfig,
    has_secret: bool,
) -> ProviderConfig:
    settings = kinds.check(
        kind, config.settings, has_secret, registry.allow_private_networks, registry.timeout
    )
    if config.icon_url is not None and (problem := display_url_problem(config.icon_url)):
        raise InvalidInput(f"icon_url {problem}")
    for granted in config.mapping.group_roles.values():
        roles.validate(uow, granted)
    taken = {d: p.id for p in uow.providers.list() if p.id != provider_id for d in p.domains or []}
    clash = sorted(d for d in config.domains if d in taken)
    if clash:
        raise Conflict(f"The domain {clash[0]} is already bound to provider {taken[clash[0]]}.")
    return config.model_copy(update={"settings": settings, "domains": sorted(set(config.domains))})


def _seal(registry: Registry, provider_id: str, secret: str | None) -> str | None:
    if secret is None:
        return None
    if not isinstance(secret, str) or not secret or len(secret) > MAX_SECRET:
        raise InvalidInput(f"client_secret: 1 to {MAX_SECRET} characters")
    return registry.envelope.encrypt(secret.encode(), secret_context(provider_id))


def _store(provider: IdentityProvider, config: ProviderConfig) -> None:
    provider.display_name = config.display_name
    provider.icon_url = config.icon_url
    provider.enabled = config.enabled
    provider.domains = list(config.domains)
    provider.settings = config.settings.model_dump(exclude_none=True)
    provider.policy = config.policy.model_dump()
    provider.mapping = config.mapping.model_dump()


def create(
    uow: UnitOfWork,
    registry: Registry,
    provider_id: str,
    kind: str,
    config: ProviderConfig,
    client_secret: str | None = None,
) -> IdentityProvider:
    """Add a provider; ``Conflict`` when the id or one of its domains is taken."""
    if not isinstance(provider_id, str) or not PROVIDER_ID.fullmatch(provider_id):
        raise InvalidInput(
            "id: 1 to 40 lower-case letters, digits and -, starting with a letter or digit"
        )
    config = _validate(uow, registry, provider_id, kind, config, client_secret is not None)
    now = to_datetime(registry.clock.now())
    provider = IdentityProvider(
        id=provider_id,
        kind=kind,
        client_secret_sealed=_seal(registry, provider_id, client_secret),
        created_at=now,
        updated_at=now,
    )
    _store(provider, config)
    return uow.providers.add(provider)


def update(
    uow: UnitOfWork,
    registry: Registry,
    provider_id: str,
    config: ProviderConfig,
    client_secret: Any = KEEP,
    *,
    unlink_identities: bool = False,
) -> IdentityProvider:
    """Replace a provider's configuration (and its secret, unless ``KEEP``; None removes
    it). Disabling it ends the sessions and refresh families of its logins. Changing one
    of ``IDENTITY_SETTINGS`` while identities are linked through it is a ``Conflict``
    unless ``unlink_identities``: then they are unlinked and their sessions end."""
    provider = get(uow, provider_id)
    has_secret = (
        provider.client_secret_sealed is not None if client_secret is KEEP else bool(client_secret)
    )
    config = _validate(uow, registry, provider.id, provider.kind, config, has_secret)
    changed = identity_changed(provider, config)
    if changed and (linked := uow.identities.count_of_provider(provider.id)):
        if not unlink_identities:
            raise Conflict(
                f"Changing {', '.join(changed)} makes provider "
                f"{provider.id} another upstream: its {linked} linked identities would sign "
                "in as their accounts. Unlink them with the change, or remove the provider."
            )
        end_logins(uow, registry.clock, provider.id, reason="provider_repointed")
        for gone in uow.identities.delete_of_provider(provider.id):
            audit.record(
                uow,
                registry.clock,
                AuditEvent.FEDERATION_UNLINKED,
                user_id=gone.user_id,
                provider=provider.id,
                subject=gone.subject,
                reason="provider_repointed",
            )
    was_enabled = provider.enabled
    if client_secret is not KEEP:
        provider.client_secret_sealed = _seal(registry, provider.id, client_secret)
    _store(provider, config)
    provider.updated_at = to_datetime(registry.clock.now())
    if was_enabled and not provider.enabled:
        end_logins(uow, registry.clock, provider.id, reason="provider_disabled")
    return provider


def identity_changed(provider: IdentityProvider, config: ProviderConfig) -> list[str]:
    """The ``IDENTITY_SETTINGS`` a (validated) configuration changes."""
    before = provider.settings or {}
    after = config.settings.model_dump(exclude_none=True)
    return [name for name in IDENTITY_SETTINGS if before.get(name) != after.get(name)]


def set_enabled(
    uow: UnitOfWork, registry: Registry, provider_id: str, enabled: bool
) -> IdentityProvider:
    provider = get(uow, provider_id)
    return update(uow, registry, provider_id, patched(provider, {"enabled": enabled}))


def remove(uow: UnitOfWork, registry: Registry, provider_id: str) -> int:
    """Delete a provider with the identities linked through it (their users stay); the
    sessions of its logins end. Returns how many identities went."""
    provider = get(uow, provider_id)
    end_logins(uow, registry.clock, provider.id, reason="provider_removed")
    linked = uow.identities.count_of_provider(provider.id)
    uow.providers.delete(provider.id)
    return linked


def end_logins(uow: UnitOfWork, clock: Clock, provider_id: str, reason: str) -> int:
    """End every live session that came through the provider, with its token families."""
    now = to_datetime(clock.now())
    sessions = uow.identities.sessions_of_provider(provider_id)
    uow.tokens.revoke_families_of_sessions(sessions, reason, now)
    return uow.login_sessions.end_where(sessions, now)


def client_secret(envelope: Envelope, provider: IdentityProvider) -> str | None:
    """The upstream client secret in clear (for the token request only)."""
    if provider.client_secret_sealed is None:
        return None
    return envelope.decrypt(provider.client_secret_sealed, secret_context(provider.id)).decode()


def callback_path(provider_id: str) -> str:
    """Where the upstream sends the browser back (register it there as redirect URI)."""
    return f"/federation/{provider_id}/callback"


def describe(provider: IdentityProvider, issuer: str) -> dict[str, Any]:
    """The provider as the API and CLI show it: never the secret."""
    config = config_of(provider)
    out = {
        "id": provider.id,
        "kind": provider.kind,
        **config.model_dump(mode="json", exclude={"settings"}),
        "settings": config.settings.model_dump(mode="json", exclude_none=True),
        "has_client_secret": provider.client_secret_sealed is not None,
        "redirect_uri": issuer + callback_path(provider.id),
        "created_at": provider.created_at,
        "updated_at": provider.updated_at,
    }
    if provider.kind == "saml":
        # What the IdP's admin needs: our SP metadata (entity ID) and the ACS.
        sp = saml_sp(issuer, provider.id, saml_settings.name_id_format(config.settings))
        out["redirect_uri"] = sp.acs_url
        out["sp_metadata_url"] = sp.entity_id
    return out


def end_identity_logins(uow: UnitOfWork, clock: Clock, identity_id: str, reason: str) -> int:
    """End every live session that came through one identity (it was unlinked)."""
    now = to_datetime(clock.now())
    sessions = uow.identities.sessions_of_identity(identity_id)
    uow.tokens.revoke_families_of_sessions(sessions, reason, now)
    return uow.login_sessions.end_where(sessions, now)
