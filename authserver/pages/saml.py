"""A SAML provider's endpoints: GET /federation/saml/{id}/metadata (our SP metadata, for
the IdP's admin) and POST /federation/saml/{id}/acs (the Assertion Consumer Service, where
the IdP posts its Response). The login starts like every federated login, at
POST /federation/{id}/start (``pages.federation``)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from authserver.federation import providers
from authserver.federation.saml import provider_settings
from authserver.federation.saml.config import ServiceProvider
from authserver.federation.saml.config import service_provider as sp_of
from authserver.federation.saml.metadata import sp_metadata
from authserver.i18n.message import N_
from authserver.web.errors import page_error


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
