"""GET /: the landing page -- the product name and the ways in (sign in, create an
account, the account page). Nothing about the signed-in user or the server's setup."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from authserver.i18n.message import N_
from authserver.web.templating import render

# Fixed texts other pages may ask for (?notice=...): a link cannot put its own words here.
NOTICES = {"account_deleted": N_("Your account was deleted.")}


async def show(request: Request) -> Response:
    settings = request.state.services.settings
    context = {
        "registration": settings.registration_enabled,
        "notice": NOTICES.get(request.query_params.get("notice", "")),
    }
    return render(request, "pages/home.html", context)
