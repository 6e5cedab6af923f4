"""The login-session cookie: an opaque secret naming a server-side login session
(``accounts.login_sessions``); never Starlette's cookie-stored ``SessionMiddleware``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from authserver.accounts import login_sessions
from authserver.storage.db import UnitOfWork
from authserver.web import cookies

COOKIE = "session"


def secret(request: Request) -> str | None:
    return cookies.read(request, COOKIE)


def current(request: Request, uow: UnitOfWork) -> login_sessions.ActiveSession | None:
    """The live login session of this browser, if any. Call it in the thread pool."""
    services = request.state.services
    return login_sessions.resolve(uow, services.clock, services.settings, secret(request))


def store(request: Request, response: Response, value: str) -> None:
    # A session cookie (no Max-Age): the server-side timeouts decide how long it lives.
    cookies.write(request, response, COOKIE, value)


def clear(request: Request, response: Response) -> None:
    cookies.clear(request, response, COOKIE)
