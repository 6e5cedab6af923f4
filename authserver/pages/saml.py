"""A SAML provider's endpoints: GET /federation/saml/{id}/metadata (our SP metadata, for
the IdP's admin) and POST /federation/saml/{id}/acs (the Assertion Consumer Service, where
the IdP posts its Response). The login starts like every federated login, at
POST /federation/{id}/start (``pages.federation``)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from authserver.federation import providers
from authserver.federation.saml import login as saml_login
from authserver.federation.saml import provider_settings
from authserver.federation.saml.config import ServiceProvider
from authserver.federation.saml.config import service_provider as sp_of
from authserver.federation.saml.metadata import sp_metadata
from authserver.i18n.message import N_
from authserver.pages import federation as federation_pages
from authserver.web import session_cookie
from authserver.web.errors import page_error
from authserver.web.oauth_bridge import read_form, reject_repeated, request_meta
from authserver.web.templating import PAGE_CSP, render

# The hand-over page's second POST says it is one (see ``acs``).
HANDED_OVER = "handed_over"
# A Response with a few hundred groups is tens of kilobytes; base64 adds a third.
MAX_FORM_BYTES = 512 * 1024
CONTINUE_CSP = PAGE_CSP + "; script-src 'self'"


def _saml_provider(request: Request) -> ServiceProvider | None:
    services = request.state.services
    provider_id = request.path_params["provider_id"]
    with services.db.unit_of_work() as uow:
        provider = uow.providers.get(provider_id)
        if provider is None or provider.kind != "saml":
            return None
        settings = providers.config_of(provider).settings
        return sp_of(
            services.settings.issuer, provider.id, provider_settings.name_id_format(settings)
        )


async def metadata(request: Request) -> Response:
    sp = await run_in_threadpool(_saml_provider, request)
    if sp is None:
        return page_error(request, 404, N_("Not found"), N_("There is no such SAML provider."))
    return Response(
        sp_metadata(sp),
        media_type="application/samlmetadata+xml",
        headers={"Cache-Control": "public, max-age=300"},
    )


async def acs(request: Request) -> Response:
    """SAML Bindings §3.5: the IdP's HTTP-POST. That POST is cross-site, so the browser
    sends none of our SameSite=Lax cookies (the binding of this round trip to the
    browser among them): the first POST only hands the fields over to a page of ours
    that posts them here again, from our origin, with the cookies."""
    services = request.state.services
    limit = max(services.settings.max_body_bytes, MAX_FORM_BYTES)
    form = reject_repeated(await read_form(request, limit))
    if form.get(HANDED_OVER) != "1":
        fields = [(k, form[k]) for k in ("SAMLResponse", "RelayState") if k in form]
        return render(
            request,
            "pages/saml_continue.html",
            {"action": request.url.path, "fields": [*fields, (HANDED_OVER, "1")]},
            headers={"Content-Security-Policy": CONTINUE_CSP},
        )
    provider_id = request.path_params["provider_id"]
    meta = request_meta(request)
    browser = federation_pages.browser_of(request)

    def work():
        with services.db.unit_of_work() as uow:
            current = session_cookie.current(request, uow)
            return saml_login.complete(uow, services, provider_id, form, browser, current, meta)

    result = await run_in_threadpool(work)
    return federation_pages.callback_response(request, result)
