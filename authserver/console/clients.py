"""/console/clients: list and search, register (the secret shown once), edit with
lost-update detection, rotate the secret, delete after a confirmation; each client's
recent audit events. The rules are ``manage.clients``' (shared with the admin API)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from authserver.admin.schemas import ClientCreate, ClientUpdate
from authserver.console.base import View, run
from authserver.console.forms import PAGE_SIZE, checked, lines, page_number, validated, words
from authserver.i18n.message import N_
from authserver.manage import audit_log, clients
from authserver.manage.call import AdminCall
from authserver.oauth import client_registry
from authserver.storage.models import Client

GRANTS = ("authorization_code", "refresh_token", "client_credentials", "password")
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")
LIST_FIELDS = ("redirect_uris", "post_logout_redirect_uris", "audience", "allowed_cors_origins")
# The client's yes/no settings, each a checkbox of the same name.
FLAGS = (
    "first_party",
    "refresh_without_offline_access",
    "require_mfa",
    "require_verified_email",
    "allow_introspection",
)
NOTICES = {
    "saved": N_("The client was saved."),
    "deleted": N_("The client was deleted."),
}


def _href(client_id: str) -> str:
    return f"/console/client?id={quote(client_id, safe='')}"


def _values(c: Client) -> dict[str, Any]:
    """A client as the edit form shows it."""
    values: dict[str, Any] = {
        "client_id": c.client_id,
        "name": c.name,
        "auth_method": c.token_endpoint_auth_method,
        "grants": list(c.grant_types),
        "scope": c.scope,
        "version": clients.version_of(c),
        **{k: bool(getattr(c, k)) for k in FLAGS},
        **{k: "\n".join(getattr(c, k)) for k in LIST_FIELDS},
    }
    values.update({k: c.extra_metadata.get(k) or "" for k in client_registry.DISPLAY_URIS})
    return values


def _submitted(fields: dict[str, str]) -> dict[str, Any]:
    """The form as it was sent (to show it again after an error)."""
    values: dict[str, Any] = {
        k: fields.get(k, "")
        for k in (
            "client_id",
            "name",
            "auth_method",
            "scope",
            "version",
            *LIST_FIELDS,
            *client_registry.DISPLAY_URIS,
        )
    }
    values["grants"] = [g for g in GRANTS if checked(fields, f"grant_{g}")]
    values.update({k: checked(fields, k) for k in FLAGS})
    return values


def _data(fields: dict[str, str]) -> dict[str, Any]:
    """The form as the admin API's body."""
    data: dict[str, Any] = {
        "name": fields.get("name", "").strip(),
        "grant_types": [g for g in GRANTS if checked(fields, f"grant_{g}")],
        "scope": " ".join(words(fields.get("scope"))),
        **{k: checked(fields, k) for k in FLAGS},
        **{k: lines(fields.get(k)) for k in LIST_FIELDS},
    }
    data.update({k: fields.get(k, "").strip() or None for k in client_registry.DISPLAY_URIS})
    return data


def _form(values: dict[str, Any], creating: bool) -> View:
    return View(
        "console/client_form.html",
        {"c": values, "creating": creating, "grants": GRANTS, "auth_methods": AUTH_METHODS},
    )


async def list_clients(request: Request) -> Response:
    query = request.query_params.get("q", "")
    page = page_number(request.query_params)

    def work(call: AdminCall) -> View:
        rows, total = clients.find(call, query, (page - 1) * PAGE_SIZE, PAGE_SIZE)
        items = [
            {
                "href": _href(c.client_id),
                "client_id": c.client_id,
                "name": c.name,
                "grants": c.grant_types,
                "updated_at": c.updated_at,
            }
            for c in rows
        ]
        return View(
            "console/clients.html",
            {
                "items": items,
                "total": total,
                "q": query,
                "page": page,
                "pages": max(1, -(-total // PAGE_SIZE)),
                "notice": NOTICES.get(request.query_params.get("notice", "")),
            },
        )

    return await run(request, work)


async def new_client(request: Request) -> Response:
    blank = {
        "grants": ["authorization_code", "refresh_token"],
        "scope": "openid profile email",
        "auth_method": "client_secret_basic",
    }
    return await run(request, lambda call: _form(blank, creating=True))


async def create_client(request: Request) -> Response:
    def work(call: AdminCall, fields: dict[str, str]) -> View:
        data = _data(fields)
        data["client_id"] = fields.get("client_id", "").strip() or None
        data["token_endpoint_auth_method"] = fields.get("auth_method", "client_secret_basic")
        body = validated(ClientCreate, data)
        client, secret = clients.create(call, body.model_dump())
        return View(
            "console/client_secret.html",
            {
                "client_id": client.client_id,
                "name": client.name,
                "secret": secret,
                "href": _href(client.client_id),
                "created": True,
            },
            status=201,
        )

    return await run(
        request,
        work,
        form=True,
        on_error=lambda exc, fields: _form(_submitted(fields), creating=True),
    )


async def show_client(request: Request) -> Response:
    client_id = request.query_params.get("id", "")

    def work(call: AdminCall) -> View:
        view = _form(_values(clients.get(call, client_id)), creating=False)
        events, _ = audit_log.page(call, audit_log.AuditFilter(client_id=client_id), 20)
        view.context["events"] = events
        view.context["notice"] = NOTICES.get(request.query_params.get("notice", ""))
        return view

    return await run(request, work)


async def update_client(request: Request) -> Response:
    def work(call: AdminCall, fields: dict[str, str]) -> Response:
        client_id = fields.get("client_id", "")
        body = validated(ClientUpdate, _data(fields))
        changes = body.model_dump(exclude_unset=True)
        clients.update(call, client_id, changes, expected_version=fields.get("version", ""))
        return RedirectResponse(_href(client_id) + "&notice=saved", status_code=303)

    def again(exc: Exception, fields: dict[str, str]) -> View:
        values = _submitted(fields)
        values["auth_method"] = fields.get("auth_method", "")
        return _form(values, creating=False)

    return await run(request, work, form=True, on_error=again)


async def rotate_secret(request: Request) -> Response:
    def work(call: AdminCall, fields: dict[str, str]) -> View:
        client_id = fields.get("client_id", "")
        secret = clients.rotate_secret(call, client_id)
        client = clients.get(call, client_id)
        return View(
            "console/client_secret.html",
            {
                "client_id": client_id,
                "name": client.name,
                "secret": secret,
                "href": _href(client_id),
                "created": False,
            },
        )

    return await run(request, work, form=True)


async def confirm_delete(request: Request) -> Response:
    client_id = request.query_params.get("id", "")

    def work(call: AdminCall) -> View:
        client = clients.get(call, client_id)
        return View(
            "console/client_delete.html",
            {
                "client_id": client.client_id,
                "name": client.name,
                "href": _href(client_id),
            },
        )

    return await run(request, work)


async def delete_client(request: Request) -> Response:
    def work(call: AdminCall, fields: dict[str, str]) -> Response:
        clients.delete(call, fields.get("client_id", ""))
        return RedirectResponse("/console/clients?notice=deleted", status_code=303)

    return await run(request, work, form=True)
