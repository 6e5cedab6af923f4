"""/console/providers: upstream identity providers -- list, register (a kind and its
settings), edit settings, login policy and group -> role rules, replace or remove the
client secret (never shown), delete after a confirmation. The rules are
``manage.providers`` / ``federation.providers``' (shared with the admin API)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from authserver.console.base import View, run
from authserver.console.forms import checked, lines
from authserver.console.model_form import fields_of, shown_values, submitted
from authserver.federation import kinds
from authserver.federation import providers as registry
from authserver.federation.config import Mapping, Policy, ProviderSettings
from authserver.i18n.message import N_
from authserver.manage import providers
from authserver.manage.call import AdminCall

SECTIONS = (("settings", ProviderSettings), ("policy", Policy), ("mapping", Mapping))
NOTICES = {
    "saved": N_("The identity provider was saved."),
    "deleted": N_("The identity provider was deleted."),
}


def _form(values: dict[str, Any], creating: bool, redirect_uri: str = "") -> View:
    sections = {name: fields_of(model, name, values.get(name) or {}) for name, model in SECTIONS}
    return View(
        "console/provider_form.html",
        {
            "p": values,
            "creating": creating,
            "sections": sections,
            "redirect_uri": redirect_uri,
            "kinds": [(k, info.label) for k, info in kinds.KINDS.items()],
        },
    )


def _config(fields: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "display_name": fields.get("display_name", "").strip(),
        "icon_url": fields.get("icon_url", "").strip() or None,
        "enabled": checked(fields, "enabled"),
        "domains": lines(fields.get("domains")),
    }
    for name, model in SECTIONS:
        data[name] = submitted(model, name, fields)
    return data


def _again(fields: dict[str, str], creating: bool) -> View:
    values: dict[str, Any] = {
        k: fields.get(k, "") for k in ("id", "kind", "display_name", "icon_url", "domains")
    }
    values["enabled"] = checked(fields, "enabled")
    values["has_client_secret"] = fields.get("has_client_secret") == "true"
    for name, model in SECTIONS:
        values[name] = shown_values(model, name, fields)
    return _form(values, creating)


def _secret(fields: dict[str, str]) -> Any:
    if checked(fields, "remove_client_secret"):
        return None
    return fields.get("client_secret") or providers.KEEP


async def list_providers(request: Request) -> Response:
    def work(call: AdminCall) -> View:
        items = [providers.describe(call, p) for p in registry.list_providers(call.uow)]
        return View(
            "console/providers.html",
            {
                "items": items,
                "notice": NOTICES.get(request.query_params.get("notice", "")),
            },
        )

    return await run(request, work)


async def new_provider(request: Request) -> Response:
    kind = request.query_params.get("kind", "oidc")
    blank = {"kind": kind if kind in kinds.KINDS else "oidc", "enabled": True}
    return await run(request, lambda call: _form(blank, creating=True))


async def create_provider(request: Request) -> Response:
    def work(call: AdminCall, fields: dict[str, str]) -> Response:
        config = registry.parse_config(_config(fields))
        secret = fields.get("client_secret") or None
        provider_id = fields.get("id", "").strip()
        providers.create(call, provider_id, fields.get("kind", ""), config, secret)
        return RedirectResponse(f"/console/providers/{provider_id}?notice=saved", 303)

    return await run(
        request, work, form=True, on_error=lambda exc, fields: _again(fields, creating=True)
    )


async def show_provider(request: Request) -> Response:
    provider_id = request.path_params["provider_id"]

    def work(call: AdminCall) -> View:
        described = providers.describe(call, registry.get(call.uow, provider_id))
        view = _form(described, creating=False, redirect_uri=described["redirect_uri"])
        view.context["notice"] = NOTICES.get(request.query_params.get("notice", ""))
        return view

    return await run(request, work)


async def update_provider(request: Request) -> Response:
    provider_id = request.path_params["provider_id"]

    def work(call: AdminCall, fields: dict[str, str]) -> Response:
        providers.update(call, provider_id, _config(fields), _secret(fields))
        return RedirectResponse(f"/console/providers/{provider_id}?notice=saved", 303)

    def again(exc: Exception, fields: dict[str, str]) -> View:
        return _again({**fields, "id": provider_id}, creating=False)

    return await run(request, work, form=True, on_error=again)


async def confirm_delete(request: Request) -> Response:
    provider_id = request.path_params["provider_id"]

    def work(call: AdminCall) -> View:
        provider = registry.get(call.uow, provider_id)
        return View(
            "console/provider_delete.html",
            {
                "id": provider.id,
                "name": provider.display_name,
                "identities": call.uow.identities.count_of_provider(provider.id),
            },
        )

    return await run(request, work)


async def delete_provider(request: Request) -> Response:
    provider_id = request.path_params["provider_id"]

    def work(call: AdminCall, fields: dict[str, str]) -> Response:
        providers.remove(call, provider_id)
        return RedirectResponse("/console/providers?notice=deleted", 303)

    return await run(request, work, form=True)
