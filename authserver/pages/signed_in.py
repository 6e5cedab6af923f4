"""Work the account pages do for the browser's live login session: in the thread pool,
inside one unit of work, with the session the cookie names."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from authserver.accounts.login_sessions import ActiveSession
from authserver.services import Services
from authserver.storage.db import UnitOfWork
from authserver.web import session_cookie

T = TypeVar("T")


class NotSignedIn(Exception):
    """The browser has no live login session."""


def _with_session(request: Request, work: Callable[[UnitOfWork, Services, ActiveSession], T]) -> T:
    services = request.state.services
    with services.db.unit_of_work() as uow:
        session = session_cookie.current(request, uow)
        if session is None:
            raise NotSignedIn()
        return work(uow, services, session)


async def run(request: Request, work: Callable[[UnitOfWork, Services, ActiveSession], T]) -> T:
    """``work(uow, services, session)``'s result; raises ``NotSignedIn``."""
    return await run_in_threadpool(_with_session, request, work)
