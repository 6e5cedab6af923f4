"""An identity provider's test login (``federation.dry_run``): started for the acting
admin's login session, its result read back by that session only. It needs a browser
(the admin signs in at the provider), so only the console offers it; the CLI's
``authserver providers test`` shows the last real sign-in (``federation.last_login``)."""

from __future__ import annotations

from typing import Any

from authserver.audit import AuditEvent
from authserver.errors import Conflict, InvalidInput
from authserver.federation import dry_run, flow, providers
from authserver.federation.http import UpstreamUnavailable
from authserver.i18n.message import N_
from authserver.manage.call import AdminCall
from authserver.oauth.requests import RequestMeta


def _binding(call: AdminCall) -> dry_run.TestBinding:
    if not call.session_id:
        raise InvalidInput("a test login needs the admin's browser session")
    return dry_run.TestBinding(call.session_id, call.admin_id)


def start(call: AdminCall, provider_id: str, browser: str | None) -> flow.Started | None:
    """Record a test round trip with ``provider_id`` (``NotFound``; ``Conflict`` when it
    is disabled) and give where to send the browser; None when its upstream cannot be
    reached (audited, as a real login's start is)."""
    provider = providers.get(call.uow, provider_id)
    if not provider.enabled:
        raise Conflict(
            N_("This provider is disabled: enable it first (a test login is a real sign-in).")
        )
    try:
        return flow.begin(
            call.uow,
            call.services,
            provider.id,
            browser,
            dry_run.result_path(provider.id),
            test=_binding(call),
        )
    except UpstreamUnavailable as exc:
        meta = RequestMeta(ip=call.ip, user_agent=call.user_agent)
        flow.refused_at_start(call.uow, call.services, meta, provider.id, str(exc), test=True)
        call.audit(
            AuditEvent.CONSOLE_PROVIDER_TEST,
            provider=provider.id,
            outcome="refused",
            reason="unavailable",
        )
        return None


def result(call: AdminCall, provider_id: str) -> dict[str, Any] | None:
    """The last test login of ``provider_id`` this admin ran in this session, if kept."""
    provider = providers.get(call.uow, provider_id)
    return dry_run.result_of(call.uow, call.services, provider.id, _binding(call))
