"""Confirming a pending link: the person proved they own the local account (they signed
in to it, in the same browser that came back from the upstream, before the link
expired); the upstream identity is then linked to it and they are signed in. An account
with a second factor is linked only from a session of it that passed one: its password
alone must not bind an identity whose provider may count as multi-factor
(``asserts_mfa``) -- that would skip the account's own second factor, now and at every
later sign-in through the provider."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from authserver import audit
from authserver.accounts import auth_methods, login_sessions
from authserver.accounts.sign_in import SignInStep
from authserver.audit import AuditEvent
from authserver.clock import to_datetime
from authserver.errors import Conflict
from authserver.federation import flow, providers, resolution
from authserver.hashing import secret_hash
from authserver.mfa import factors
from authserver.oauth.requests import RequestMeta
from authserver.services import Services
from authserver.storage.db import UnitOfWork
from authserver.storage.models import FederationPendingLink, IdentityProvider, User


class SecondFactorFirst(Exception):
    """The account has a second factor and this browser's session of it passed none."""


def _passed_second_factor(current: login_sessions.ActiveSession | None, user: User) -> bool:
    if current is None or current.user.id != user.id:
        return False
    done = set(current.login_session.auth_methods or {})
    return auth_methods.MULTI_FACTOR in done or bool(auth_methods.SECOND_FACTORS & done)


@dataclass(frozen=True)
class PendingLink:
    link: FederationPendingLink
    provider: IdentityProvider
    user: User


def pending(
    uow: UnitOfWork, services: Services, token: str | None, browser: str | None
) -> PendingLink | None:
    """The live pending link this browser holds, or None (unknown, used, expired, made
    in another browser, its provider disabled or its account gone)."""
    if not token or not browser or len(token) > 128 or len(browser) > 128:
        return None
    now = to_datetime(services.clock.now())
    link = uow.federation_flows.get_pending_link(secret_hash(token), now)
    if link is None or not hmac.compare_digest(link.browser_hash, secret_hash(browser)):
        return None
    provider = uow.providers.get(link.provider_id)
    user = uow.users.get(link.user_id)
    if provider is None or not provider.enabled or user is None or user.disabled_at is not None:
        return None
    return PendingLink(link, provider, user)


def confirm(
    uow: UnitOfWork,
    services: Services,
    found: PendingLink,
    token: str,
    signed_in_as: User,
    current: login_sessions.ActiveSession | None,
    meta: RequestMeta,
) -> SignInStep | None:
    """Link after the person signed in to ``signed_in_as`` (password checked by the
    caller): only to the account the link names, once. None when refused;
    ``SecondFactorFirst`` (the link kept for another try) when the account has a second
    factor and ``current`` is no session of it that passed one (FEDERATION.md: password
    and MFA re-authentication)."""
    now = to_datetime(services.clock.now())
    if signed_in_as.id != found.user.id:
        return None
    if factors.has_second_factor(uow, found.user.id) and not _passed_second_factor(
        current, found.user
    ):
        raise SecondFactorFirst()
    if not uow.federation_flows.consume_pending_link(secret_hash(token), now):
        return None
    profile = flow.profile_of_link(found.link)
    try:
        identity = uow.identities.add(
            resolution.new_identity(services.clock, found.provider.id, found.user, profile)
        )
    except Conflict:
        return None
    audit.record(
        uow,
        services.clock,
        AuditEvent.FEDERATION_LINK_CONFIRMED,
        user_id=found.user.id,
        ip=meta.ip,
        user_agent=meta.user_agent,
        provider=found.provider.id,
        subject=profile.subject,
        how="signed_in",
    )
    resolved = resolution.Resolved(found.user, identity, "linked")
    return flow.finish(
        uow,
        services,
        providers.config_of(found.provider),
        resolved,
        current,
        meta,
        methods=(auth_methods.PASSWORD, auth_methods.FEDERATED),
    )
