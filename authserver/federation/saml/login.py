"""The ACS use case: a validated SAML assertion (``saml.flow.validate``) goes through the
federation core exactly as an upstream OIDC login does: identity resolution, linking,
JIT, role mapping, the sign-in funnel (``federation.flow``); an admin's test login is
validated the same way, then only shown (``federation.dry_run``)."""

from __future__ import annotations

from authserver.accounts import login_sessions
from authserver.federation import callback, dry_run
from authserver.federation import flow as core_flow
from authserver.federation.saml import flow as saml_flow
from authserver.oauth.requests import RequestMeta
from authserver.services import Services
from authserver.storage.db import UnitOfWork


def complete(
    uow: UnitOfWork,
    services: Services,
    provider_id: str,
    form: dict[str, str],
    browser: str | None,
    current: login_sessions.ActiveSession | None,
    meta: RequestMeta,
) -> core_flow.Callback:
    validated = saml_flow.validate(uow, services, provider_id, form, browser, meta)
    login = validated.login
    # "state": not this browser's or this provider's round trip -- the plain refusal.
    if login is not None and validated.refused != "state" and dry_run.is_test(login):
        shown = dry_run.record(
            uow,
            services,
            login,
            validated.provider,
            validated.profile,
            validated.refused,
            validated.reason,
            meta,
        )
        return core_flow.Callback(return_to=shown, test=True)
    out = core_flow.Callback(return_to=validated.login.return_to if validated.login else "/account")
    if validated.refused or validated.provider is None or validated.profile is None:
        out.refused, out.detail = validated.refused or "invalid_answer", validated.reason
        return out
    out.provider_name = validated.provider.display_name
    assert browser is not None and login is not None
    skew = saml_flow.POLICY.clock_skew.total_seconds()
    provider_id = validated.provider.id
    if not callback.fresh_enough(
        uow, services, meta, login, provider_id, validated.profile, out, skew
    ):
        return out
    return core_flow.sign_in_upstream(
        uow, services, validated.provider, validated.profile, current, meta, out, browser
    )
