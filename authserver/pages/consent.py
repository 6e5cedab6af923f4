"""The consent page: which app asks (its name, logo and links), what each scope lets it
do in plain words (``oauth.scope_descriptions``); Allow or Deny."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from authserver.oauth.authorization import Outcome
from authserver.oauth.scope_descriptions import ScopeView
from authserver.pages.app_identity import app_view
from authserver.web.templating import render


def consent_page(request: Request, outcome: Outcome, scopes: list[ScopeView]) -> Response:
    assert outcome.client is not None
    return render(
        request,
        "pages/consent.html",
        {
            "app": app_view(outcome.client),
            "client_name": outcome.client.name,
            "scopes": [
                {"name": s.name, "title": s.title, "description": s.description} for s in scopes
            ],
            "params": sorted(outcome.params.items()),
        },
    )
