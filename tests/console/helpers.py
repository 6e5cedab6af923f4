"""Signing an administrator in for the console tests.

Until a second factor can be performed on the login page, a session "signed in with
password and an authenticator code" is started with the code the login page uses
(``login_sessions.start`` with the RFC 8176 methods ``pwd`` and ``otp``); the browser
journey signs in through the pages."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from authserver.accounts import login_sessions
from authserver.clock import Clock


def sign_in(
    http: Any,
    services: Any,
    user_id: str,
    methods: Sequence[str] = ("pwd", "otp"),
    clock: Clock | None = None,
) -> str:
    """Give the browser ``http`` a login session of ``user_id`` that performed
    ``methods``; returns the session id."""
    with services.db.unit_of_work() as uow:
        user = uow.users.get(user_id)
        session, secret = login_sessions.start(
            uow, clock or services.clock, services.settings, user, methods=methods
        )
        session_id = session.id
    http.cookies.set("session", secret)
    return session_id


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def post(http: Any, page: str, action: str, **fields: str) -> Any:
    """GET ``page`` (for the CSRF token), then POST ``fields`` to ``action``."""
    token = csrf(http.get(page).text)
    return http.post(action, data={"csrf_token": token, **fields}, follow_redirects=False)


def another_browser(http: Any) -> Any:
    """A second browser (its own cookies) on the same app instance as ``http``."""
    from starlette.testclient import TestClient

    other = TestClient(http.app, base_url=str(http.base_url))
    other.app_state.update(http.app_state)
    return other
