"""/admin/audit: the audit trail, newest first, filtered by user, client, event, time."""

from __future__ import annotations

from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response

from authserver.admin.base import AdminCall, ApiError, int_param, run
from authserver.admin.schemas import AuditEventOut, Page


def _time(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, "invalid_request", f"{name} must be an ISO 8601 time") from None
    if value.tzinfo is None:
        raise ApiError(400, "invalid_request", f"{name} must carry a time zone (e.g. Z)")
    return value


async def query(request: Request) -> Response:
    q = request.query_params

    def work(call: AdminCall) -> Page[AuditEventOut]:
        limit = int_param(request, "limit", 100, 1, 1000)
        before_id = int_param(request, "before_id", 0, 1, 2**62) or None
        since, until = _time(request, "since"), _time(request, "until")
        rows = call.uow.audit.query(
            user_id=q.get("user_id"),
            client_id=q.get("client_id"),
            event=q.get("event"),
            since=since,
            until=until,
            limit=limit,
            before_id=before_id,
        )
        items = [AuditEventOut.model_validate(r, from_attributes=True) for r in rows]
        return Page[AuditEventOut](
            items=items, next_before_id=items[-1].id if len(items) == limit else None
        )

    return await run(request, work)
