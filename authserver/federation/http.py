"""Requests to upstream identity providers (discovery, keys, token, user API): hosts an
operator named, but reached by this server, so with the guards of ``keys.remote`` --
https, addresses resolved once and checked (no private networks unless the operator
allows them, then http on loopback too), no redirects, one deadline for the whole
exchange, a size cap. Every failure is one ``UpstreamUnavailable``."""

from __future__ import annotations

import http.client
import json
import socket
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

from authserver.federation.urls import is_loopback_host, upstream_url_problem
from authserver.keys.remote import (
    AddrInfo,
    JwksUnavailable,
    _CheckedHTTPSConnection,
    _resolve,
    _time_left,
)

MAX_BYTES = 256 * 1024
USER_AGENT = "authserver-federation"


class UpstreamUnavailable(Exception):
    """The upstream could not be reached in time, or answered something unusable."""


class UpstreamAnswer:
    def __init__(self, status: int, body: bytes, content_type: str) -> None:
        self.status, self.body, self.content_type = status, body, content_type

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            raise UpstreamUnavailable("the upstream did not answer JSON") from None


class _DeadlineTcpSocket(socket.socket):
    """A plain TCP socket whose every read and write may take only the time left before
    the exchange's deadline, as ``keys.remote``'s TLS socket: a per-read timeout alone
    lets an upstream sending a byte a second hold a login for as long as it likes."""

    deadline: float = 0.0

    def _arm(self) -> None:
        self.settimeout(_time_left(self.deadline))

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        self._arm()
        return super().recv_into(buffer, nbytes, flags)

    def sendall(self, data: Any, flags: int = 0) -> None:
        self._arm()
        super().sendall(data, flags)


class _LoopbackHTTPConnection(http.client.HTTPConnection):
    """Plain http to the addresses resolved and checked beforehand, by ``deadline``."""

    def __init__(self, host: str, port: int, addresses: list[AddrInfo], deadline: float) -> None:
        super().__init__(host, port, timeout=_time_left(deadline))
        self._addresses, self._deadline = addresses, deadline

    def connect(self) -> None:
        error: OSError = OSError("no address")
        for family, kind, proto, _, sockaddr in self._addresses:
            sock = _DeadlineTcpSocket(family, kind, proto)
            sock.deadline = self._deadline
            try:
                sock.settimeout(_time_left(self._deadline))
                sock.connect(sockaddr)
                self.sock = sock
                return
            except OSError as exc:
                sock.close()
                error = exc
        raise error


def _connection(url: str, allow_private: bool, deadline: float) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "http":
        # Only a loopback test rig (upstream_url_problem refused anything else).
        port = parts.port or 80
        addresses = _resolve(host, port, allow_private, deadline)
        return _LoopbackHTTPConnection(host, port, addresses, deadline)
    port = parts.port or 443
    return _CheckedHTTPSConnection(
        host, port, _resolve(host, port, allow_private, deadline), deadline
    )


def request(
    method: str,
    url: str,
    *,
    allow_private: bool,
    timeout: float,
    form: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> UpstreamAnswer:
    """One exchange with the upstream, done within ``timeout`` seconds."""
    problem = upstream_url_problem(url, allow_private)
    if problem:
        raise UpstreamUnavailable(f"upstream URL {problem}")
    if urlsplit(url).scheme == "http" and not is_loopback_host(urlsplit(url).hostname or ""):
        raise UpstreamUnavailable("upstream URL must use https")
    deadline = time.monotonic() + timeout
    body = urlencode(form).encode() if form is not None else None
    sent = {"Accept": "application/json", "User-Agent": USER_AGENT, **(headers or {})}
    if body is not None:
        sent["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        parts = urlsplit(url)
        connection = _connection(url, allow_private, deadline)
        try:
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            connection.request(method, target, body=body, headers=sent)
            response = connection.getresponse()
            data = _read_capped(response)
            return UpstreamAnswer(response.status, data, response.getheader("Content-Type") or "")
        finally:
            connection.close()
    except UpstreamUnavailable:
        raise
    except (JwksUnavailable, OSError, http.client.HTTPException, ValueError) as exc:
        raise UpstreamUnavailable(f"{urlsplit(url).hostname}: {type(exc).__name__}") from exc


def get_json(url: str, *, allow_private: bool, timeout: float, **kw: Any) -> Any:
    """GET a JSON document that must come with 200 (a redirect is not followed)."""
    answer = request("GET", url, allow_private=allow_private, timeout=timeout, **kw)
    if answer.status != 200:
        raise UpstreamUnavailable(f"{urlsplit(url).hostname} answered {answer.status}")
    return answer.json()


def _read_capped(response: http.client.HTTPResponse) -> bytes:
    length = response.getheader("Content-Length")
    if length is not None and length.isdigit() and int(length) > MAX_BYTES:
        raise UpstreamUnavailable("upstream answer too large")
    body = b""
    while chunk := response.read(min(16 * 1024, MAX_BYTES + 1 - len(body))):
        body += chunk
        if len(body) > MAX_BYTES:
            raise UpstreamUnavailable("upstream answer too large")
    return body
