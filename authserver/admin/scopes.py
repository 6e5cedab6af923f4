"""/admin/scopes: the consent page's texts for each scope, per language."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from authserver.admin.base import AdminCall, run
from authserver.admin.schemas import Page, ScopeDescriptionIn, ScopeDescriptionOut
from authserver.audit import AuditEvent
from authserver.errors import NotFound
from authserver.oauth import scope_descriptions
from authserver.storage.models import ScopeDescription


def out(row: ScopeDescription) -> ScopeDescriptionOut:
    texts: dict[str, Any] = dict(row.texts)
    return ScopeDescriptionOut(scope=row.scope, texts=texts, updated_at=row.updated_at)


async def list_scopes(request: Request) -> Response:
    def work(call: AdminCall) -> Page[ScopeDescriptionOut]:
        rows = [out(row) for row in call.uow.scope_descriptions.list()]
        return Page[ScopeDescriptionOut](items=rows, total=len(rows))

    return await run(request, work)


async def get_scope(request: Request) -> Response:
    scope = request.path_params["scope"]

    def work(call: AdminCall) -> ScopeDescriptionOut:
        row = call.uow.scope_descriptions.get(scope)
        if row is None:
            raise NotFound(f"no description for scope {scope}")
        return out(row)

    return await run(request, work)


async def put_scope(request: Request) -> Response:
    scope = request.path_params["scope"]

    def work(call: AdminCall, body: ScopeDescriptionIn) -> ScopeDescriptionOut:
        row = scope_descriptions.describe_scope(
            call.uow, call.services.clock, scope, body.model_dump(exclude_none=True)["texts"]
        )
        call.audit(AuditEvent.SCOPE_DESCRIBED, scope=scope)
        return out(row)

    return await run(request, work, body=ScopeDescriptionIn)


async def delete_scope(request: Request) -> Response:
    scope = request.path_params["scope"]

    def work(call: AdminCall) -> None:
        scope_descriptions.remove_scope_description(call.uow, scope)
        call.audit(AuditEvent.SCOPE_DESCRIBED, scope=scope, removed=True)

    return await run(request, work, status=204)
