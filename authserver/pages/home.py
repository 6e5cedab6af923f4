"""GET /: the landing page -- the product name and the ways in (sign in, create an
account, the account page). Nothing about the signed-in user or the server's setup."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from authserver.web.templating import render


async def show(request: Request) -> Response:
    settings = request.state.services.settings
    return render(request, "pages/home.html", {"registration": settings.registration_enabled})
