"""The one step every way of signing in ends with: a user has proved who they are in this
browser with some methods (RFC 8176 names: ``pwd`` on the login page, ``fed`` after an
upstream identity provider), and the server decides what comes next.

Today that is always a login session. This is also the place where a second factor is
asked for before any session exists (the MFA work), so the password page, the federation
callback and passkey sign-in all go through ``after_first_factor`` and nowhere else."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from authserver.accounts import login_sessions
from authserver.services import Services
from authserver.storage.db import UnitOfWork
from authserver.storage.models import User


@dataclass(frozen=True)
class SessionStarted:
    """The browser now has a login session: put ``secret`` in its session cookie."""

    secret: str
    session: login_sessions.ActiveSession


SignInStep = SessionStarted


def after_first_factor(
    uow: UnitOfWork,
    services: Services,
    user: User,
    current: login_sessions.ActiveSession | None,
    methods: Sequence[str],
    *,
    ip: str | None = None,
    user_agent: str | None = None,
) -> SignInStep:
    """``user`` authenticated with ``methods`` in a browser whose current session (if any)
    is ``current``: what the browser gets next. The caller has checked the credentials
    (and that the user is not disabled) and commits ``uow``."""
    session, secret = login_sessions.login(
        uow,
        services.clock,
        services.settings,
        user,
        current,
        methods=methods,
        ip=ip,
        user_agent=user_agent,
    )
    return SessionStarted(secret, session)
