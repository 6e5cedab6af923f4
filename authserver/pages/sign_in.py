"""The browser's side of ``accounts.sign_in``: turn the next sign-in step into a response
(a session cookie and a redirect to where the user was going, or a pending sign-in cookie
and a redirect to the second-factor page)."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from authserver.accounts.sign_in import SecondFactorNeeded, SignInStep
from authserver.mfa import pending
from authserver.web import cookies, session_cookie

PENDING_COOKIE = "signin_pending"
SECOND_FACTOR_PAGE = "/login/second-factor"
ENROL_PAGE = "/account/mfa/setup"


def respond(request: Request, step: SignInStep, next_path: str) -> Response:
    """A 303 to ``next_path`` (already checked to be a local path) carrying the session;
    or to the second-factor page, or for a user who must set up a second factor first to
    the set-up page (both continue to ``next_path``)."""
    if isinstance(step, SecondFactorNeeded):
        target = f"{SECOND_FACTOR_PAGE}?{urlencode({'next': next_path})}"
        response = RedirectResponse(target, status_code=303)
        cookies.write(
            request,
            response,
            PENDING_COOKIE,
            step.secret,
            max_age=int(pending.TTL.total_seconds()),
        )
        return response
    target = next_path
    if step.enrol:
        target = f"{ENROL_PAGE}?{urlencode({'next': next_path})}"
    response = RedirectResponse(target, status_code=303)
    session_cookie.store(request, response, step.secret)
    return response
