"""The SAML side of a federated login, on the federation core's round trip
(``FederationLogin``: a random state stored hashed with the browser binding).

``authn_request_url``: the state travels as RelayState, and the AuthnRequest ID is
derived from it with a server key (HMAC), so it needs no storage and the response's
InResponseTo can only match the request this browser started.

``validate``: the ACS POST. The round trip is consumed once (by RelayState), must be
this browser's and this provider's; the Response is validated strictly
(``response``), its assertion ID accepted once (``replay``), and the assertion mapped
to an ``UpstreamProfile`` for the core's identity resolution. Every refusal is audited
as ``federation.rejected`` with the SAML reason and changes nothing (but the spent
round trip)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from authserver import audit
from authserver.audit import AuditEvent
from authserver.clock import to_datetime
from authserver.federation import providers
from authserver.federation.profile import UpstreamProfile, email_of, name_of, shown_claims
from authserver.federation.saml import authn_request, provider_settings, replay
from authserver.federation.saml.config import IdentityProvider, Policy, ServiceProvider
from authserver.federation.saml.config import service_provider as sp_of
from authserver.federation.saml.errors import SamlError
from authserver.federation.saml.mapping import AttributeRules, map_assertion
from authserver.federation.saml.response import decode_post, validate_response
from authserver.hashing import secret_hash
from authserver.oauth.requests import RequestMeta
from authserver.services import Services
from authserver.storage.db import UnitOfWork
from authserver.storage.models import FederationLogin
from authserver.storage.models import IdentityProvider as ProviderRow

POLICY = Policy()
MAX_RELAY_STATE = 80


@dataclass(frozen=True)
class Connection:
    idp: IdentityProvider
    sp: ServiceProvider
    rules: AttributeRules


def connection(provider: ProviderRow, issuer: str) -> Connection:
    """What a login with the stored ``saml`` provider needs."""
    config = providers.config_of(provider)
    settings = config.settings
    return Connection(
        provider_settings.identity_provider(settings),
        sp_of(issuer, provider.id, settings.name_id_format),
        provider_settings.rules(settings, config.mapping.groups_claim),
    )


def service_provider(provider: ProviderRow, issuer: str) -> ServiceProvider:
    return sp_of(issuer, provider.id, providers.config_of(provider).settings.name_id_format)


def request_id(secret: bytes, state: str) -> str:
    """The AuthnRequest ID of the round trip with ``state`` (an xs:ID: not a digit first)."""
    return (
        "_" + hmac.new(secret, f"federation saml request\0{state}".encode(), "sha256").hexdigest()
    )


def authn_request_url(
    services: Services, provider: ProviderRow, state: str, *, force_authn: bool = False
) -> str:
    """Where to send the browser: the IdP's SSO URL with our AuthnRequest (HTTP-Redirect);
    ``force_authn``: a fresh authentication is demanded (``federation.fresh``)."""
    found = connection(provider, services.settings.issuer)
    request = authn_request.build(
        found.idp,
        found.sp,
        to_datetime(services.clock.now()),
        relay_state=state,
        request_id=request_id(services.cookie_secret, state),
        force_authn=force_authn,
    )
    return request.redirect_url


@dataclass
class Validated:
    """The outcome of the ACS: ``profile`` (who the IdP says this is), or ``refused``
    (a reason for the page) with ``reason`` (what the audit records)."""

    login: FederationLogin | None = None
    provider: ProviderRow | None = None
    profile: UpstreamProfile | None = None
    refused: str | None = None
    reason: str = ""


def validate(
    uow: UnitOfWork,
    services: Services,
    provider_id: str,
    form: dict[str, str],
    browser: str | None,
    meta: RequestMeta,
) -> Validated:
    relay_state = form.get("RelayState") or ""
    if not relay_state or len(relay_state) > MAX_RELAY_STATE:
        # IdP-initiated (unsolicited) responses carry no state of ours: refused.
        return _refuse(uow, services, meta, provider_id, "state", "unsolicited")
    now = services.clock.now()
    login = uow.federation_flows.consume_login(secret_hash(relay_state), to_datetime(now))
    if login is None:
        return _refuse(uow, services, meta, provider_id, "state", "state")
    if login.provider_id != provider_id:
        return _refuse(uow, services, meta, provider_id, "state", "provider_mismatch", login)
    if not browser or not hmac.compare_digest(secret_hash(browser), login.browser_hash):
        return _refuse(uow, services, meta, provider_id, "state", "other_browser", login)
    provider = uow.providers.get(provider_id)
    if provider is None or not provider.enabled or provider.kind != "saml":
        return _refuse(
            uow, services, meta, provider_id, "provider_disabled", "provider_disabled", login
        )
    found = connection(provider, services.settings.issuer)
    try:
        document = decode_post(form.get("SAMLResponse") or "", POLICY)
        assertion = validate_response(
            document,
            idp=found.idp,
            sp=found.sp,
            request_id=request_id(services.cookie_secret, relay_state),
            now=to_datetime(now),
            policy=POLICY,
        )
        identity = map_assertion(assertion, found.rules)
        replay.accept_once(uow, services.denylist, assertion)
    except SamlError as exc:
        return _refuse(
            uow, services, meta, provider_id, "invalid_answer", exc.reason, login, detail=exc.detail
        )
    claims: dict[str, Any] = shown_claims(identity.claims())
    claims["saml"] = _shown_assertion(identity.assertion)
    profile = UpstreamProfile(
        subject=identity.subject,
        email=email_of(identity.email),
        email_verified=False,
        name=name_of(identity.name)
        or name_of(" ".join(p for p in (identity.given_name, identity.family_name) if p)),
        groups=identity.groups,
        claims=claims,
        auth_time=assertion.authn_instant.timestamp() if assertion.authn_instant else None,
    )
    return Validated(login=login, provider=provider, profile=profile)


def _shown_assertion(summary: dict[str, Any]) -> dict[str, Any]:
    """The last assertion as the operator may see it (``providers test``): bounded."""
    attributes = summary.get("attributes") or {}
    return {
        **{k: v for k, v in summary.items() if k != "attributes"},
        "attributes": {
            name[:200]: [value[:200] for value in values[:50]]
            for name, values in list(attributes.items())[:40]
        },
    }


def _refuse(
    uow: UnitOfWork,
    services: Services,
    meta: RequestMeta,
    provider_id: str,
    refused: str,
    reason: str,
    login: FederationLogin | None = None,
    detail: str = "",
) -> Validated:
    audit.record(
        uow,
        services.clock,
        AuditEvent.FEDERATION_REJECTED,
        ip=meta.ip,
        user_agent=meta.user_agent,
        provider=provider_id,
        reason=f"saml_{reason}" if refused == "invalid_answer" else reason,
        detail=detail[:200] or None,
        # An admin's test login (``federation.dry_run``): not a real sign-in's refusal.
        **({"test": True} if login is not None and login.test_session_hash else {}),
    )
    if login is None or not login.test_session_hash:  # a test login is not a sign-in
        services.metrics.federation_login(provider_id, f"rejected:{reason}")
    return Validated(login=login, refused=refused, reason=reason)
