"""The federated login use cases: ``begin`` (send the browser upstream) and, once the
callback (``callback.complete``) or the SAML ACS validated the answer,
``sign_in_upstream``; each one unit of work.

The round trip is bound to this browser and this provider: ``state`` is 256 random
bits, stored only hashed with the hash of a browser-binding cookie and the provider;
``nonce`` and the PKCE verifier (S256) are derived from the state with a server key
(HMAC), so they need no storage and cannot be guessed from the state. The callback
consumes the state once (a replay finds nothing), refuses another browser and another
provider's callback (mix-up), then validates what the upstream says (``upstream``)
before ``resolution`` decides who the person is here."""

from __future__ import annotations

import base64
import hmac
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from authserver import audit
from authserver.accounts import auth_methods, login_sessions, sign_in
from authserver.accounts.sign_in import SignInStep
from authserver.audit import AuditEvent
from authserver.clock import to_datetime
from authserver.federation import dry_run, kinds, providers, resolution, upstream
from authserver.federation.config import ProviderConfig
from authserver.federation.fresh import FreshAuth
from authserver.federation.profile import UpstreamProfile
from authserver.federation.saml import flow as saml_flow
from authserver.federation.upstream import Upstream
from authserver.hashing import new_secret, secret_hash
from authserver.oauth.requests import RequestMeta
from authserver.services import Services
from authserver.storage.db import UnitOfWork
from authserver.storage.models import FederationLogin, FederationPendingLink, IdentityProvider


def derived(services: Services, purpose: str, state: str) -> str:
    """A value only this server can compute from ``state`` (nonce, PKCE verifier: 43
    characters of base64url, as RFC 7636 §4.1 asks)."""
    mac = hmac.new(services.cookie_secret, f"federation {purpose}\0{state}".encode(), "sha256")
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def upstream_of(services: Services, provider: IdentityProvider) -> Upstream:
    return upstream.of(
        provider,
        envelope=services.envelope,
        issuer=services.settings.issuer,
        allow_private=services.settings.federation_allow_private_networks,
        timeout=services.settings.federation_timeout,
        cache=services.upstreams,
    )


class ProviderUnavailable(Exception):
    """No enabled provider by that id."""


@dataclass(frozen=True)
class Started:
    url: str
    # The browser-binding cookie's value (new, or the one the browser had).
    browser: str


def begin(
    uow: UnitOfWork,
    services: Services,
    provider_id: str,
    browser: str | None,
    return_to: str,
    test: dry_run.TestBinding | None = None,
    fresh: FreshAuth | None = None,
) -> Started:
    """Record a round trip and give the upstream URL to send the browser to.
    ``UpstreamUnavailable`` when the upstream's discovery cannot be had. With ``test``,
    the round trip is an admin's test login (``dry_run``): it never signs anyone in.
    With ``fresh``, the upstream is asked to re-authenticate and the callback accepts
    only an authentication made during the round trip (``federation.fresh``)."""
    provider = uow.providers.get(provider_id) if isinstance(provider_id, str) else None
    if provider is None or not provider.enabled:
        raise ProviderUnavailable(provider_id)
    if not browser or len(browser) > 128:
        browser = new_secret(32)
    state = new_secret(32)
    if kinds.KINDS[provider.kind].protocol == "saml":
        # SAML Core §3.4.1: ForceAuthn="true" -- the IdP MUST authenticate the presenter
        # directly rather than rely on a previous security context.
        url = saml_flow.authn_request_url(services, provider, state, force_authn=bool(fresh))
    else:
        url = upstream.authorization_url(
            upstream_of(services, provider),
            state,
            derived(services, "nonce", state),
            derived(services, "pkce", state),
            fresh=fresh,
        )
    now = to_datetime(services.clock.now())
    uow.federation_flows.add_login(
        FederationLogin(
            state_hash=secret_hash(state),
            provider_id=provider.id,
            browser_hash=secret_hash(browser),
            return_to=return_to,
            user_id=None,
            created_at=now,
            expires_at=now + timedelta(seconds=services.settings.federation_login_ttl),
            used_at=None,
            fresh_auth=fresh is not None,
            test_session_hash=secret_hash(test.session_id) if test else None,
            test_admin_id=test.admin_id if test else None,
        )
    )
    return Started(url, browser)


@dataclass
class Callback:
    """What the callback leads to: ``step`` (signed in), ``link_token`` (the person must
    sign in to an existing account), ``refused`` with a reason code, or ``test`` (an
    admin's test login: its result is at ``return_to``, nobody signed in)."""

    return_to: str = "/account"
    step: SignInStep | None = None
    link_token: str | None = None
    refused: str | None = None
    provider_name: str = ""
    detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    test: bool = False


def reject(
    uow: UnitOfWork, services: Services, meta: RequestMeta, provider_id: str, reason: str, **kw: Any
) -> None:
    audit.record(
        uow,
        services.clock,
        AuditEvent.FEDERATION_REJECTED,
        ip=meta.ip,
        user_agent=meta.user_agent,
        provider=provider_id,
        reason=reason,
        **kw,
    )
    if not kw.get("test"):
        # An admin's test login is not a sign-in: the metrics count real ones only.
        services.metrics.federation_login(provider_id, f"rejected:{reason}")


def refused_at_start(
    uow: UnitOfWork,
    services: Services,
    meta: RequestMeta,
    provider_id: str,
    detail: str,
    *,
    test: bool = False,
) -> None:
    """Audit a round trip that could not begin: the upstream's discovery could not be had
    (``begin`` raised ``UpstreamUnavailable``; its unit of work recorded nothing)."""
    tagged = {"test": True} if test else {}
    reject(
        uow, services, meta, provider_id, "unavailable", step="start", detail=detail[:200], **tagged
    )


def sign_in_upstream(
    uow: UnitOfWork,
    services: Services,
    provider: IdentityProvider,
    profile: UpstreamProfile,
    current: login_sessions.ActiveSession | None,
    meta: RequestMeta,
    out: Callback,
    browser: str,
) -> Callback:
    config = providers.config_of(provider)
    found = resolution.resolve(uow, services.clock, provider, config, profile)
    if isinstance(found, resolution.Refused):
        reject(uow, services, meta, provider.id, found.reason, subject=profile.subject)
        out.refused = found.reason
        return out
    if isinstance(found, resolution.NeedsLink):
        out.link_token = _pending_link(uow, services, provider, profile, found, out, browser)
        services.metrics.federation_login(provider.id, "link_required")
        return out
    held = list(found.user.roles)
    if found.how == "created":
        _audit(uow, services, meta, AuditEvent.FEDERATION_JIT_CREATED, found, roles=held)
    elif found.how == "linked":
        _audit(uow, services, meta, AuditEvent.FEDERATION_LINK_CONFIRMED, found, how="trusted")
    if found.how == "created" and held != ["user"]:
        _audit(uow, services, meta, AuditEvent.FEDERATION_ROLE_MAPPED, found, roles=held)
    changed = resolution.apply_managed_roles(uow, services.clock, config, found.user, profile)
    if changed is not None:
        _audit(uow, services, meta, AuditEvent.FEDERATION_ROLE_MAPPED, found, roles=changed)
        current = None  # the role change ended every session of the user
    out.step = finish(
        uow, services, config, found, current, meta, authenticated_at=profile.auth_time
    )
    return out


def finish(
    uow: UnitOfWork,
    services: Services,
    config: ProviderConfig,
    found: resolution.Resolved,
    current: login_sessions.ActiveSession | None,
    meta: RequestMeta,
    methods: tuple[str, ...] = (auth_methods.FEDERATED,),
    authenticated_at: float | None = None,
) -> SignInStep:
    """Sign the user in through the one funnel every way of signing in takes;
    ``authenticated_at``: when the upstream says it authenticated the person."""
    if config.policy.asserts_mfa:
        methods = (*methods, auth_methods.MULTI_FACTOR)
    _audit(uow, services, meta, AuditEvent.FEDERATION_LOGIN, found, how=found.how)
    services.metrics.federation_login(found.identity.provider_id, found.how)
    return sign_in.after_first_factor(
        uow,
        services,
        found.user,
        current,
        list(methods),
        ip=meta.ip,
        user_agent=meta.user_agent,
        identity_id=found.identity.id,
        max_lifetime=config.policy.max_session_seconds,
        authenticated_at=authenticated_at,
    )


def _audit(
    uow: UnitOfWork,
    services: Services,
    meta: RequestMeta,
    event: AuditEvent,
    found: resolution.Resolved,
    **details: Any,
) -> None:
    audit.record(
        uow,
        services.clock,
        event,
        user_id=found.user.id,
        ip=meta.ip,
        user_agent=meta.user_agent,
        provider=found.identity.provider_id,
        subject=found.identity.subject,
        **details,
    )


def _pending_link(
    uow: UnitOfWork,
    services: Services,
    provider: IdentityProvider,
    profile: UpstreamProfile,
    found: resolution.NeedsLink,
    out: Callback,
    browser: str,
) -> str:
    token = new_secret(32)
    now = to_datetime(services.clock.now())
    uow.federation_flows.add_pending_link(
        FederationPendingLink(
            token_hash=secret_hash(token),
            provider_id=provider.id,
            subject=profile.subject,
            user_id=found.user.id,
            browser_hash=secret_hash(browser),
            email=profile.email,
            claims={"profile": profile.claims, "verified": profile.email_verified},
            return_to=out.return_to,
            created_at=now,
            expires_at=now + timedelta(seconds=services.settings.federation_login_ttl),
            used_at=None,
        )
    )
    return token


def profile_of_link(link: FederationPendingLink) -> UpstreamProfile:
    """The upstream profile a pending link was made from."""
    stored = link.claims or {}
    return UpstreamProfile(
        subject=link.subject,
        email=link.email,
        email_verified=bool(stored.get("verified")),
        name=None,
        groups=None,
        claims=dict(stored.get("profile") or {}),
    )
