"""A console test login: an administrator checks a provider with a real sign-in at it.

It is the provider's real round trip (``flow.begin`` with a ``TestBinding``: the same
state, nonce, PKCE verifier, AuthnRequest and callback / ACS), validated at the callback
exactly as a real login is (OIDC: ``upstream.profile``; SAML: ``saml.flow.validate``).
Then, instead of signing anyone in, ``record`` computes what would happen -- who the
person would be here (``resolution.decide``, which only reads), the roles the rules give
-- and keeps it on the round trip's row for the admin's login session, for a few minutes.
Nothing is created or changed: no user, identity, pending link, login session, last-used
time or role. The callback branches on the row (a test round trip never reaches the
sign-in funnel), and only a test row ever holds a result."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from authserver import audit
from authserver.audit import AuditEvent
from authserver.clock import to_datetime
from authserver.federation import mapping as role_mapping
from authserver.federation import providers, resolution
from authserver.federation.profile import UpstreamProfile
from authserver.hashing import secret_hash
from authserver.oauth.requests import RequestMeta
from authserver.services import Services
from authserver.storage.db import UnitOfWork
from authserver.storage.models import FederationLogin, IdentityProvider, User

# How long the result stays readable after the callback (seconds).
RESULT_TTL = 600


@dataclass(frozen=True)
class TestBinding:
    """Who started a test login: the admin and their login session (the console's)."""

    session_id: str
    admin_id: str


def is_test(login: FederationLogin) -> bool:
    return login.test_session_hash is not None


def result_path(provider_id: str) -> str:
    """The console page showing the result (provider ids are path-safe)."""
    return f"/console/providers/{provider_id}/test"


def _user(user: User) -> dict[str, Any]:
    return {"id": user.id, "email": user.email, "roles": list(user.roles)}


def outcome(
    uow: UnitOfWork, provider: IdentityProvider, profile: UpstreamProfile
) -> dict[str, Any]:
    """What a sign-in with ``profile`` would do now, read only: the claims received, what
    they map to (subject, e-mail, verified flag, groups, the roles the rules give) and
    the outcome with the user it concerns and the roles they would hold."""
    config = providers.config_of(provider)
    mapped = role_mapping.mapped_roles(uow, config.mapping, profile.groups)
    decision = resolution.decide(uow, provider, config, profile)
    out: dict[str, Any] = {
        "received": profile.claims,
        "userinfo": profile.userinfo,
        "mapped": {
            "subject": profile.subject,
            "email": profile.email,
            "email_verified": profile.email_verified,
            "name": profile.name,
            "groups": list(profile.groups) if profile.groups is not None else None,
            "roles": mapped,
        },
    }
    if isinstance(decision, resolution.Refused):
        return {**out, "outcome": "refused", "reason": decision.reason}
    if isinstance(decision, resolution.Create):
        return {**out, "outcome": "created", "roles_after": decision.roles}
    if isinstance(decision, resolution.NeedsLink):
        # Linking after a password sign-in keeps the account's roles.
        user = _user(decision.user)
        return {**out, "outcome": "link_required", "user": user, "roles_after": user["roles"]}
    how = "known" if isinstance(decision, resolution.Known) else "linked"
    user = _user(decision.user)
    after = mapped if config.mapping.roles_managed else user["roles"]
    return {**out, "outcome": how, "user": user, "roles_after": after}


def record(
    uow: UnitOfWork,
    services: Services,
    login: FederationLogin,
    provider: IdentityProvider | None,
    profile: UpstreamProfile | None,
    refused: str | None,
    detail: str,
    meta: RequestMeta,
) -> str:
    """Keep the result of the test round trip ``login`` (already consumed and validated
    by the caller; ``profile`` None when it was refused with ``refused``), audit it, and
    return the page that shows it."""
    if provider is not None and profile is not None and refused is None:
        result = outcome(uow, provider, profile)
    else:
        result = {"outcome": "refused", "reason": refused or "invalid_answer", "detail": detail}
    now = to_datetime(services.clock.now())
    result["at"] = now.replace(microsecond=0).isoformat()
    login.test_result = result
    login.expires_at = now + timedelta(seconds=RESULT_TTL)
    audit.record(
        uow,
        services.clock,
        AuditEvent.CONSOLE_PROVIDER_TEST,
        ip=meta.ip,
        user_agent=meta.user_agent,
        actor=login.test_admin_id,
        via="console",
        provider=login.provider_id,
        outcome=result["outcome"],
        reason=result.get("reason"),
    )
    return result_path(login.provider_id)


def result_of(
    uow: UnitOfWork, services: Services, provider_id: str, binding: TestBinding
) -> dict[str, Any] | None:
    """The newest kept result of a test login of ``provider_id`` started in this admin's
    login session, or None (none, expired, or another session's: a login session is one
    user's, so another admin's too)."""
    now = to_datetime(services.clock.now())
    row = uow.federation_flows.latest_test(provider_id, secret_hash(binding.session_id), now)
    return row.test_result if row is not None else None
