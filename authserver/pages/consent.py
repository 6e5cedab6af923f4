"""The consent page: what the application asks for, in plain words; Allow or Deny."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from authserver.oauth.authorization import Outcome
from authserver.web.templating import render

DESCRIPTIONS = {
    "openid": "Know who you are (your account id)",
    "profile": "See your name",
    "email": "See your e-mail address",
    "offline_access": "Stay signed in to it when you are away (refresh tokens)",
    "admin": "Administer this sign-in service",
}


def consent_page(request: Request, outcome: Outcome) -> Response:
    scopes = [{"name": s, "text": DESCRIPTIONS.get(s, f"Access: {s}")} for s in outcome.scopes]
    return render(
        request,
        "pages/consent.html",
        {
            "client_name": outcome.client_name,
            "scopes": scopes,
            "params": sorted(outcome.params.items()),
        },
    )
