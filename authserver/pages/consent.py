"""The consent page: what the application asks for, in plain words; Allow or Deny."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from authserver.i18n.message import N_
from authserver.oauth.authorization import Outcome
from authserver.web.templating import render

DESCRIPTIONS = {
    "openid": N_("Know who you are (your account id)"),
    "profile": N_("See your name"),
    "email": N_("See your e-mail address"),
    "offline_access": N_("Stay signed in to it when you are away (refresh tokens)"),
    "admin": N_("Administer this sign-in service"),
}


def consent_page(request: Request, outcome: Outcome) -> Response:
    scopes = [
        {"name": s, "text": DESCRIPTIONS.get(s, N_("Access: %(scope)s", scope=s))}
        for s in outcome.scopes
    ]
    return render(
        request,
        "pages/consent.html",
        {
            "client_name": outcome.client_name,
            "scopes": scopes,
            "params": sorted(outcome.params.items()),
        },
    )
