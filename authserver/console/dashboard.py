"""/console: the dashboard."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from authserver.console.base import View, run
from authserver.manage import dashboard
from authserver.manage.call import AdminCall


async def show(request: Request) -> Response:
    def work(call: AdminCall) -> View:
        return View("console/dashboard.html", {"d": dashboard.summary(call)})

    return await run(request, work)
