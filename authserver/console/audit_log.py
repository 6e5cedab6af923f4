"""/console/audit: the audit trail filtered by user, client, event and time, newest first
in pages; and its export as CSV or JSON lines (oldest first)."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from authserver.audit import AuditEvent
from authserver.console.base import View, run
from authserver.errors import InvalidInput
from authserver.manage import audit_log
from authserver.manage.call import AdminCall
from authserver.params import parse_decimal
from authserver.storage.models import AuditEvent as AuditRow

PAGE_SIZE = 50
EXPORT_LIMIT = 100_000
FILTERS = ("user_id", "client_id", "event", "since", "until")
COLUMNS = ("id", "at", "event", "user_id", "client_id", "ip", "user_agent", "details")
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV
# injection"): such cells are exported with a leading apostrophe.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _filter_params(request: Request) -> dict[str, str]:
    """The filters as sent; a time without a zone (a datetime-local field) is UTC."""
    params = {k: request.query_params.get(k, "").strip() for k in FILTERS}
    for name in ("since", "until"):
        try:
            naive = params[name] and datetime.fromisoformat(params[name]).tzinfo is None
        except ValueError:
            naive = False  # AuditFilter.parse names the field
        if naive:
            params[name] += "+00:00"
    return params


def _record(row: AuditRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": row.at.isoformat(),
        "event": row.event,
        "user_id": row.user_id,
        "client_id": row.client_id,
        "ip": row.ip,
        "user_agent": row.user_agent,
        "details": row.details or {},
    }


def _cell(value: Any) -> str:
    text = json.dumps(value, sort_keys=True) if isinstance(value, dict) else str(value or "")
    return "'" + text if text.startswith(FORMULA_START) else text


async def show(request: Request) -> Response:
    shown = {k: request.query_params.get(k, "") for k in FILTERS}
    raw_before = request.query_params.get("before_id", "")

    def work(call: AdminCall) -> View:
        where = audit_log.AuditFilter.parse(_filter_params(request))
        before = parse_decimal(raw_before) if raw_before else None
        if raw_before and before is None:
            raise InvalidInput("before_id must be a number")
        rows, next_before = audit_log.page(call, where, PAGE_SIZE, before)
        kept = {k: v for k, v in shown.items() if v}
        return View(
            "console/audit.html",
            {
                "rows": rows,
                "f": shown,
                "events": sorted(str(e) for e in set(AuditEvent)),
                "next": f"?{urlencode({**kept, 'before_id': next_before})}"
                if next_before
                else None,
                "export": urlencode(kept),
            },
        )

    return await run(request, work)


async def export(request: Request) -> Response:
    fmt = request.query_params.get("format", "csv")

    def work(call: AdminCall) -> Response:
        if fmt not in ("csv", "jsonl"):
            raise InvalidInput("format must be csv or jsonl")
        where = audit_log.AuditFilter.parse(_filter_params(request))
        records = []
        for row in audit_log.export(call, where):
            records.append(_record(row))
            if len(records) >= EXPORT_LIMIT:
                break
        if fmt == "jsonl":
            body = "".join(json.dumps(r, sort_keys=True) + "\n" for r in records)
            media = "application/jsonl"
        else:
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(COLUMNS)
            writer.writerows([_cell(r[c]) for c in COLUMNS] for r in records)
            body, media = out.getvalue(), "text/csv; charset=utf-8"
        return Response(
            body,
            media_type=media,
            headers={
                "Content-Disposition": f'attachment; filename="audit.{fmt}"',
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    return await run(request, work)
