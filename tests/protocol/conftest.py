"""Fixtures of the protocol tests that run on the event loop's path."""

from __future__ import annotations

import pytest

from authserver.web import oauth_bridge


@pytest.fixture
def threads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The grant types of the requests that ran in a protocol thread."""
    ran: list[str] = []
    original = oauth_bridge._in_protocol_thread

    async def counted(services, factory, call, current, waited=False):  # type: ignore[no-untyped-def]
        ran.append(current.form.get("grant_type", ""))
        return await original(services, factory, call, current, waited)

    monkeypatch.setattr(oauth_bridge, "_in_protocol_thread", counted)
    return ran
