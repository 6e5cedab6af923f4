"""The consent page: which app asks (its name, logo and links), what each scope lets it
do in plain words (``oauth.scope_descriptions``); Allow or Deny."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from authserver.oauth.authorization import Outcome
from authserver.oauth.scope_descriptions import ScopeView
from authserver.pages.app_identity import app_view, redirect_host
from authserver.web.templating import render


def consent_page(request: Request, outcome: Outcome, scopes: list[ScopeView]) -> Response:
    client = outcome.client
    assert client is not None
    app = app_view(client)
    redirect_uri = outcome.params.get("redirect_uri") or (
        client.redirect_uris[0] if len(client.redirect_uris) == 1 else None
    )
    return render(
        request,
        "pages/consent.html",
        {
            "app": app,
            "client_name": app.name,
            # Where the answer goes, for apps the operator does not vouch for: a copied
            # name cannot hide that the code goes to someone else's host.
            "redirect_host": None if client.first_party else redirect_host(redirect_uri),
            "scopes": [
                {"name": s.name, "title": s.title, "description": s.description} for s in scopes
            ],
            "params": sorted(outcome.params.items()),
        },
    )
