"""/admin/audit: the audit trail, newest first, filtered by user, client, event, time
(``manage.audit_log``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from authserver.admin.base import AdminCall, int_param, run
from authserver.admin.schemas import AuditEventOut, Page
from authserver.manage import audit_log


async def query(request: Request) -> Response:
    def work(call: AdminCall) -> Page[AuditEventOut]:
        limit = int_param(request, "limit", 100, 1, 1000)
        before_id = int_param(request, "before_id", 0, 1, 2**62) or None
        where = audit_log.AuditFilter.parse(request.query_params)
        rows, next_before = audit_log.page(call, where, limit, before_id)
        items = [AuditEventOut.model_validate(r, from_attributes=True) for r in rows]
        return Page[AuditEventOut](items=items, next_before_id=next_before)

    return await run(request, work)
