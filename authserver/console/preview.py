"""/console/preview: the ID token, access token and userinfo claims a client would get for
a user and a scope (``manage.preview``), nothing issued. A GET: it changes nothing."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response

from authserver.console.base import View, run
from authserver.manage import preview
from authserver.manage.call import AdminCall

FIELDS = ("client_id", "user", "scope", "methods")


def _pretty(claims: object) -> str | None:
    return json.dumps(claims, indent=2, sort_keys=True) if claims is not None else None


async def show(request: Request) -> Response:
    f = {k: request.query_params.get(k, "").strip() for k in FIELDS}
    f["methods"] = f["methods"] or "pwd"

    def form(**extra: object) -> View:
        return View("console/preview.html", {"f": f, "methods": list(preview.METHODS), **extra})

    def work(call: AdminCall) -> View:
        if not (f["client_id"] and f["user"]):
            return form()
        result = preview.preview(call, f["client_id"], f["user"], f["scope"], f["methods"])
        return form(
            result={
                "scope": result.scope,
                "access_token": _pretty(result.access_token),
                "id_token": _pretty(result.id_token),
                "userinfo": _pretty(result.userinfo),
            }
        )

    return await run(request, work, on_error=lambda exc, fields: form())
