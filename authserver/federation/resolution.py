"""Who an upstream login is, here (the account-takeover boundary; FEDERATION.md §1c):

1. A known identity (provider, subject) is its user, whatever the e-mail says now.
2. An unknown identity whose e-mail matches a local account is linked only when the
   provider trusts the e-mail's domain *and* the upstream verified the address;
   otherwise the person must sign in to that account (``NeedsLink``).
3. Otherwise a user is created (JIT) if the provider allows it for the domain.
4. Otherwise: refused."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from authserver.accounts import roles
from authserver.clock import Clock, to_datetime
from authserver.federation import mapping as role_mapping
from authserver.federation.config import ProviderConfig
from authserver.federation.profile import UpstreamProfile
from authserver.storage.db import UnitOfWork
from authserver.storage.models import ExternalIdentity, IdentityProvider, User
from authserver.storage.users import email_key


@dataclass(frozen=True)
class Resolved:
    user: User
    identity: ExternalIdentity
    # How: "known", "linked" (trusted domain), "created" (JIT).
    how: str


@dataclass(frozen=True)
class NeedsLink:
    """A local account has this e-mail: its owner must sign in to link."""

    user: User


@dataclass(frozen=True)
class Refused:
    reason: str


Resolution = Resolved | NeedsLink | Refused


def _domain_in(domain: str | None, allowed: list[str]) -> bool:
    return domain is not None and domain in allowed


def new_identity(
    clock: Clock, provider_id: str, user: User, profile: UpstreamProfile
) -> ExternalIdentity:
    now = to_datetime(clock.now())
    return ExternalIdentity(
        id=str(uuid.uuid4()),
        provider_id=provider_id,
        subject=profile.subject,
        user_id=user.id,
        email=profile.email,
        email_verified=profile.email_verified,
        claims=profile.claims,
        created_at=now,
        last_login_at=now,
    )


@dataclass(frozen=True)
class Known:
    """The identity is known: its user."""

    user: User
    identity: ExternalIdentity


@dataclass(frozen=True)
class LinkTrusted:
    """Unknown identity, an e-mail of a trusted domain verified upstream and here: link
    it to ``user``."""

    user: User


@dataclass(frozen=True)
class Create:
    """JIT: a new user with ``roles`` (what the group rules give)."""

    roles: list[str]


Decision = Known | LinkTrusted | Create | NeedsLink | Refused


def decide(
    uow: UnitOfWork, provider: IdentityProvider, config: ProviderConfig, profile: UpstreamProfile
) -> Decision:
    """What a login with ``profile`` leads to, reading only: nothing is created or
    changed (``resolve`` applies it; the console's test login only shows it)."""
    identity = uow.identities.find(provider.id, profile.subject)
    if identity is not None:
        user = uow.users.get(identity.user_id)
        if user is None or user.disabled_at is not None:
            return Refused("user_disabled")
        return Known(user, identity)
    policy = config.policy
    existing = uow.users.find_by_email(profile.email) if profile.email else None
    if existing is not None:
        if existing.disabled_at is not None:
            return Refused("user_disabled")
        # Trusted: the upstream verified the address, and so did we. An account whose
        # address was never verified here may be someone else's, made in advance with
        # that address (pre-account hijacking): only its password links it.
        trusted = _domain_in(profile.email_domain, policy.trust_email_domains)
        if trusted and profile.email_verified and existing.email_verified:
            return LinkTrusted(existing)
        return NeedsLink(existing)
    if not policy.jit:
        return Refused("no_account")
    if profile.email is None:
        return Refused("no_email")
    if policy.jit_domains and not _domain_in(profile.email_domain, policy.jit_domains):
        return Refused("domain_not_allowed")
    return Create(role_mapping.mapped_roles(uow, config.mapping, profile.groups))


def resolve(
    uow: UnitOfWork,
    clock: Clock,
    provider: IdentityProvider,
    config: ProviderConfig,
    profile: UpstreamProfile,
) -> Resolution:
    """``decide``, then do it: refresh a known identity, link, or create the user."""
    decision = decide(uow, provider, config, profile)
    if isinstance(decision, NeedsLink | Refused):
        return decision
    if isinstance(decision, Known):
        identity = decision.identity
        identity.email, identity.email_verified = profile.email, profile.email_verified
        identity.claims = profile.claims
        identity.last_login_at = to_datetime(clock.now())
        return Resolved(decision.user, identity, "known")
    if isinstance(decision, LinkTrusted):
        identity = uow.identities.add(new_identity(clock, provider.id, decision.user, profile))
        return Resolved(decision.user, identity, "linked")
    assert profile.email is not None
    now = to_datetime(clock.now())
    user = uow.users.add(
        User(
            id=str(uuid.uuid4()),
            email=profile.email,
            email_key=email_key(profile.email),
            email_verified=profile.email_verified,
            name=profile.name,
            password_hash=None,
            roles=decision.roles,
            tokens_valid_after=0,
            created_at=now,
            updated_at=now,
        )
    )
    identity = uow.identities.add(new_identity(clock, provider.id, user, profile))
    return Resolved(user, identity, "created")


def apply_managed_roles(
    uow: UnitOfWork, clock: Clock, config: ProviderConfig, user: User, profile: UpstreamProfile
) -> list[str] | None:
    """With ``roles_managed``, give the user exactly the mapped roles (a change ends their
    other sessions and families, as every role change does); the new set, or None."""
    if not config.mapping.roles_managed:
        return None
    wanted = role_mapping.mapped_roles(uow, config.mapping, profile.groups)
    if roles.set_roles(uow, clock, user, wanted):
        return wanted
    return None
