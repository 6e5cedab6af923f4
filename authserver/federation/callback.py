"""The callback of an OIDC / OAuth upstream (``complete``): the round trip consumed once
by its state, refused for another provider (mix-up) or another browser, then the
upstream's answer validated (``upstream``) before ``flow.sign_in_upstream`` resolves who
the person is here -- or, for an admin's test login, ``dry_run`` only shows it."""

from __future__ import annotations

import hmac

from authserver.accounts import login_sessions
from authserver.clock import to_datetime, to_timestamp
from authserver.federation import dry_run, fresh, kinds, upstream
from authserver.federation.flow import Callback, derived, reject, sign_in_upstream, upstream_of
from authserver.federation.http import UpstreamUnavailable
from authserver.federation.profile import UpstreamProfile
from authserver.federation.upstream import Upstream, UpstreamRejected
from authserver.hashing import secret_hash
from authserver.oauth.requests import RequestMeta
from authserver.services import Services
from authserver.storage.db import UnitOfWork
from authserver.storage.models import FederationLogin, IdentityProvider

# Longest `code`, `state`, `error` accepted on the callback.
MAX_PARAM = 2048


def _param(params: dict[str, str], name: str) -> str | None:
    value = params.get(name)
    return value if isinstance(value, str) and 0 < len(value) <= MAX_PARAM else None


def complete(
    uow: UnitOfWork,
    services: Services,
    provider_id: str,
    params: dict[str, str],
    browser: str | None,
    current: login_sessions.ActiveSession | None,
    meta: RequestMeta,
) -> Callback:
    """Handle the upstream's redirect back. Every refusal is audited and leaves nothing
    created or changed (but the state, which is spent)."""
    now_ts = services.clock.now()
    now = to_datetime(now_ts)
    state = _param(params, "state")
    login = uow.federation_flows.consume_login(secret_hash(state), now) if state else None
    if state is None or login is None:
        reject(uow, services, meta, provider_id, "state")
        return Callback(refused="state")
    out = Callback(return_to=login.return_to)
    if login.provider_id != provider_id:
        reject(uow, services, meta, provider_id, "provider_mismatch", expected=login.provider_id)
        out.refused = "state"
        return out
    if not browser or not hmac.compare_digest(secret_hash(browser), login.browser_hash):
        reject(uow, services, meta, provider_id, "other_browser")
        out.refused = "state"
        return out
    test = dry_run.is_test(login)
    provider, profile = _answer(uow, services, provider_id, params, state, now_ts, meta, out, test)
    if test:
        # An admin's test login: validated as above, then only shown, whatever it says.
        shown = dry_run.record(
            uow, services, login, provider, profile, out.refused, out.detail, meta
        )
        return Callback(return_to=shown, test=True)
    if provider is None or profile is None:
        return out
    if not fresh_enough(uow, services, meta, login, provider_id, profile, out):
        return out
    return sign_in_upstream(uow, services, provider, profile, current, meta, out, browser)


def fresh_enough(
    uow: UnitOfWork,
    services: Services,
    meta: RequestMeta,
    login: FederationLogin,
    provider_id: str,
    profile: UpstreamProfile,
    out: Callback,
    skew: float = fresh.SKEW,
) -> bool:
    """Whether a validated answer may sign the person in as far as freshness goes (OIDC
    callback and SAML ACS alike): a round trip that demanded a fresh authentication
    needs one made since it started (``federation.fresh``); else the refusal is audited
    (a security event: the RP's demand would have been silently unmet), counted, set
    on ``out``, and nothing is created -- no identity, no link, no session."""
    if not login.fresh_auth:
        return True
    started = to_timestamp(login.created_at)
    try:
        fresh.check(profile.auth_time, started, skew)
    except fresh.NotReauthenticated as exc:
        reject(
            uow,
            services,
            meta,
            provider_id,
            "not_reauthenticated",
            detail=exc.reason,
            subject=profile.subject,
            auth_time=int(profile.auth_time) if profile.auth_time is not None else None,
            started_at=int(started),
        )
        out.refused, out.detail = "not_reauthenticated", exc.reason
        return False
    return True


def _answer(
    uow: UnitOfWork,
    services: Services,
    provider_id: str,
    params: dict[str, str],
    state: str,
    now_ts: float,
    meta: RequestMeta,
    out: Callback,
    test: bool,
) -> tuple[IdentityProvider | None, UpstreamProfile | None]:
    """The provider and the validated profile of its answer; a refusal is audited and
    set on ``out`` (the profile is then None). ``test``: with the userinfo, to show, and
    a refusal audited as a test's (``last_login`` shows real ones only)."""
    tagged = {"test": True} if test else {}
    provider = uow.providers.get(provider_id)
    if provider is None or not provider.enabled:
        reject(uow, services, meta, provider_id, "provider_disabled", **tagged)
        out.refused = "provider_disabled"
        return None, None
    out.provider_name = provider.display_name
    if "error" in params:
        # RFC 6749 §4.1.2.1: the upstream refused or failed; its code, never its text.
        error = (_param(params, "error") or "error")[:64]
        reject(uow, services, meta, provider_id, "upstream_error", error=error, **tagged)
        out.refused, out.detail = "upstream_error", error
        return provider, None
    code = _param(params, "code")
    if code is None:
        reject(uow, services, meta, provider_id, "no_code", **tagged)
        out.refused = "upstream_error"
        return provider, None
    up = upstream_of(services, provider)
    try:
        _check_iss_parameter(up, params)
        pkce, nonce = derived(services, "pkce", state), derived(services, "nonce", state)
        profile = upstream.profile(up, code, pkce, nonce, now_ts, userinfo=test)
    except UpstreamRejected as exc:
        reject(uow, services, meta, provider_id, exc.reason, detail=exc.detail, **tagged)
        out.refused, out.detail = "invalid_answer", exc.reason
        return provider, None
    except UpstreamUnavailable as exc:
        reject(uow, services, meta, provider_id, "unavailable", detail=str(exc)[:200], **tagged)
        out.refused = "unavailable"
        return provider, None
    return provider, profile


def _check_iss_parameter(up: Upstream, params: dict[str, str]) -> None:
    """RFC 9207 §2.4: an `iss` on the authorization response must be the issuer we sent
    the browser to (a mix-up defence when several upstreams are configured), and an
    upstream whose metadata says it sends `iss` MUST NOT be answered without one."""
    iss = params.get("iss")
    if not up.is_oidc:
        return
    if iss is None:
        if upstream.oidc_metadata(up).sends_iss:
            raise UpstreamRejected("iss_parameter")
        return
    expected = kinds.issuer_of(up.kind, up.settings)
    if up.kind == "microsoft" and up.settings.tenant in kinds.MICROSOFT_MULTI:
        return  # the response names the user's tenant; the ID token's check covers it
    if iss != expected:
        raise UpstreamRejected("iss_parameter")
