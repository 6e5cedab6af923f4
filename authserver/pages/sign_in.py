"""The browser's side of ``accounts.sign_in``: turn the next sign-in step into a response
(a session cookie and a redirect to where the user was going)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from authserver.accounts.sign_in import SignInStep
from authserver.web import session_cookie


def respond(request: Request, step: SignInStep, next_path: str) -> Response:
    """A 303 to ``next_path`` (already checked to be a local path) carrying the session."""
    response = RedirectResponse(next_path, status_code=303)
    session_cookie.store(request, response, step.secret)
    return response
