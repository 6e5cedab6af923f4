"""Helpers for the account tests: forms with their CSRF token, the outbox, a clock."""

from __future__ import annotations

import email
import email.policy
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from authserver.app import create_app
from authserver.settings import Settings

LINK = re.compile(r"(https?://\S+/password/reset\?token=[A-Za-z0-9_\-]+)")


class FakeClock:
    """Time that moves only when a test says so (windows, expiry)."""

    def __init__(self, start: float | None = None) -> None:
        self.t = start if start is not None else time.time()

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@contextmanager
def browser(
    settings: Settings, clock: Any = None, ip: str = "198.51.100.7"
) -> Iterator[TestClient]:
    """One browser (its own cookie jar) on its own app instance, from one client IP."""
    with TestClient(
        create_app(settings, clock), base_url=settings.issuer, client=(ip, 50000)
    ) as http:
        yield http


class OneServer:
    """One app instance (one server process: one set of services, so one in-memory
    rate limiter in the embedded mode) visited by browsers from different addresses."""

    def __init__(self, settings: Settings, clock: Any = None) -> None:
        self.settings = settings
        self.app = create_app(settings, clock)
        self._main: TestClient | None = None

    def browser(self, ip: str = "198.51.100.7") -> TestClient:
        assert self._main is not None, "use OneServer as a context manager"
        http = TestClient(self.app, base_url=self.settings.issuer, client=(ip, 50000))
        # The lifespan ran once, for the main client: share its state (the services).
        http.app_state.update(self._main.app_state)
        return http

    def __enter__(self) -> OneServer:
        self._main = TestClient(self.app, base_url=self.settings.issuer).__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._main is not None
        self._main.__exit__(*exc)


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def submit(http: TestClient, page: str, action: str | None = None, **fields: str) -> Any:
    """GET ``page``, then POST its form (with the CSRF token) to ``action``."""
    token = csrf(http.get(page).text)
    return http.post(action or page, data={"csrf_token": token, **fields}, follow_redirects=False)


def login(http: TestClient, email_address: str, password: str) -> Any:
    return submit(http, "/login", email=email_address, password=password)


def outbox(settings: Settings) -> list[EmailMessage]:
    folder = Path(settings.mail_outbox_dir)
    if not folder.exists():
        return []
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for p in sorted(folder.glob("*.eml"))
    ]


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return part.get_content()


def reset_link(message: EmailMessage) -> str:
    match = LINK.search(text_of(message))
    assert match, text_of(message)
    return match.group(1)
