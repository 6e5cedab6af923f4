"""A host name whose lookup never ends cannot hold a jwks_uri fetch, a metadata fetch or
an upstream request past its deadline: the system resolver takes no timeout of ours
(resolv.conf's own can be tens of seconds), so the lookup is waited for only until then."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from authserver.federation import http as upstream
from authserver.keys import remote

RESOLVER_HANGS_SECONDS = 5.0


@pytest.fixture
def hanging_resolver(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """The system resolver, as when its DNS server never answers."""
    asked = threading.Event()

    def getaddrinfo(*args: object, **kwargs: object) -> list[object]:
        asked.set()
        time.sleep(RESOLVER_HANGS_SECONDS)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def test_a_jwks_uri_fetch_ends_at_its_deadline(hanging_resolver: threading.Event) -> None:
    started = time.monotonic()
    with pytest.raises(remote.JwksUnavailable):
        remote.fetch("https://keys.example/jwks.json", deadline=started + 0.5)
    assert hanging_resolver.is_set()
    assert time.monotonic() - started < 2.0


def test_a_document_fetch_ends_at_its_deadline(hanging_resolver: threading.Event) -> None:
    started = time.monotonic()
    with pytest.raises(remote.DocumentUnavailable):
        remote.fetch_document(
            "https://idp.example/metadata", accept="application/xml", max_bytes=1000, timeout=0.5
        )
    assert time.monotonic() - started < 2.0


def test_an_upstream_request_ends_at_its_deadline(hanging_resolver: threading.Event) -> None:
    started = time.monotonic()
    with pytest.raises(upstream.UpstreamUnavailable):
        upstream.request("GET", "https://idp.example/token", allow_private=False, timeout=0.5)
    assert time.monotonic() - started < 2.0


def test_a_lookup_failure_is_still_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    def getaddrinfo(*args: object, **kwargs: object) -> list[object]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(remote.JwksUnavailable):
        remote.fetch("https://keys.example/jwks.json")
