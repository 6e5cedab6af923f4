"""Public keys published by clients at their ``jwks_uri`` (private_key_jwt).

A jwks_uri is a URL a client chose, fetched by this server: a way into its network
(SSRF) unless guarded. So the fetch is https only, resolves the host once, refuses the
lot when any address is not a global unicast one (unless the operator allows private
networks), connects to an address it checked (no second lookup a DNS rebinding could
answer differently), verifies TLS against the URL's host name, follows no redirect, and
stops at a timeout and a size cap. The document must pass the same rule as inline
``jwks`` at registration (public keys only: no ``oct``, no private members), and only
RSA and EC keys are kept, the types of the algorithms we verify with. Every failure is
one ``JwksUnavailable``, which the caller answers with ``invalid_client``.

Key sets are cached per process; an unknown ``kid`` (the client rotated its keys)
refetches, at most once per ``min_refetch`` seconds per URL, and so does a failure."""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from authserver.oauth.client_registry import ClientSpec, key_problems

MAX_BYTES = 64 * 1024
# Seconds for each network step (connect, TLS, each read), and for the whole body.
TIMEOUT = 5.0
# The key types of the algorithms assertions may use (RS*, PS*: RSA; ES*: EC).
SIGNING_KEY_TYPES = ("RSA", "EC")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
AddrInfo = tuple[socket.AddressFamily, socket.SocketKind, int, str, tuple[Any, ...]]


class JwksUnavailable(Exception):
    """The client's keys could not be had: unreachable, refused, or not a JWK Set."""


def public_signing_keys(document: Any) -> KeySet:
    """The RSA and EC public keys of a JWK Set document, by the rule inline ``jwks`` meet
    at registration (``client_registry.key_problems``): a document with a symmetric key
    or private key material is refused whole (whoever published it has leaked it)."""
    spec = ClientSpec(
        name="jwks",
        grant_types=[],
        scope="",
        token_endpoint_auth_method="private_key_jwt",
        jwks=document,
    )
    problems = key_problems(spec)
    if problems:
        raise JwksUnavailable("; ".join(problems))
    keys = KeySet.import_key_set(document)
    # RFC 7517 §4.2: a key marked for encryption is not one to verify signatures with.
    usable = [
        k for k in keys.keys if k.key_type in SIGNING_KEY_TYPES and k.get("use", "sig") == "sig"
    ]
    if not usable:
        raise JwksUnavailable("jwks: no RSA or EC signature key")
    return KeySet(usable)


def is_public_address(address: IPAddress) -> bool:
    """A global unicast address, also when written inside an IPv6 one (IPv4-mapped,
    6to4, Teredo), whose embedded IPv4 address is what would be reached."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ())]
        if any(e is not None and not is_public_address(e) for e in embedded):
            return False
    return address.is_global and not address.is_multicast


class _CheckedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to addresses resolved and checked beforehand: connecting does not look the
    name up again, and TLS still verifies the certificate against the name."""

    def __init__(self, host: str, port: int, addresses: list[AddrInfo]) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=TIMEOUT, context=self._tls)
        self._addresses = addresses

    def connect(self) -> None:
        error: OSError = OSError("no address")
        for family, kind, proto, _, sockaddr in self._addresses:
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(TIMEOUT)
                sock.connect(sockaddr)
                self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)
                return
            except OSError as exc:
                sock.close()
                error = exc
        raise error


def _resolve(host: str, port: int, allow_private_networks: bool) -> list[AddrInfo]:
    addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    if not addresses:
        raise JwksUnavailable(f"{host} has no address")
    if not allow_private_networks:
        for *_, sockaddr in addresses:
            address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
            if not is_public_address(address):
                # All or nothing: connecting to "another" address of the same name is
                # what a rebinding attacker would arrange.
                raise JwksUnavailable(f"{host} resolves to a non-public address")
    return addresses


def fetch(url: str, allow_private_networks: bool = False) -> KeySet:
    """GET ``url`` once, as described above; raises ``JwksUnavailable``."""
    try:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise JwksUnavailable("jwks_uri must be an https URL")
        port = parts.port or 443
        addresses = _resolve(parts.hostname, port, allow_private_networks)
        connection = _CheckedHTTPSConnection(parts.hostname, port, addresses)
        try:
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            connection.request("GET", target, headers={"Accept": "application/json"})
            response = connection.getresponse()
            # No redirect is followed: its target would escape the checks above.
            if response.status != 200:
                raise JwksUnavailable(f"jwks_uri answered {response.status}")
            body = _read_capped(response)
        finally:
            connection.close()
        return public_signing_keys(json.loads(body))
    except JwksUnavailable:
        raise
    except (OSError, http.client.HTTPException, ValueError, TypeError, KeyError, JoseError) as exc:
        # OSError: DNS, connect, TLS, timeouts. HTTPException: a broken response
        # (IncompleteRead, bad status line). ValueError: bad URL, port, JSON or UTF-8.
        raise JwksUnavailable(f"jwks_uri: {type(exc).__name__}") from exc


def _read_capped(response: http.client.HTTPResponse) -> bytes:
    length = response.getheader("Content-Length")
    if length is not None and length.isdigit() and int(length) > MAX_BYTES:
        raise JwksUnavailable("jwks_uri document too large")
    deadline = time.monotonic() + TIMEOUT
    body = b""
    while chunk := response.read(min(16 * 1024, MAX_BYTES + 1 - len(body))):
        body += chunk
        if len(body) > MAX_BYTES:
            raise JwksUnavailable("jwks_uri document too large")
        # Each read has its own timeout; a server dripping bytes hits this one.
        if time.monotonic() > deadline:
            raise JwksUnavailable("jwks_uri too slow")
    return body


@dataclass(frozen=True)
class _Entry:
    keys: KeySet | None  # None: never fetched successfully
    fetched_at: float
    attempted_at: float


class RemoteJwks:
    def __init__(self, ttl: float = 300.0, min_refetch: float = 10.0) -> None:
        self.ttl = ttl
        self.min_refetch = min_refetch
        self._cache: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def get(
        self,
        url: str,
        kid: str | None = None,
        *,
        now: float | None = None,
        allow_private_networks: bool = False,
    ) -> KeySet:
        """The key set at ``url``. Cached for ``ttl`` seconds; an unknown ``kid`` (a
        client rotated its keys) or a failed fetch is retried only once ``min_refetch``
        seconds have passed since the last attempt, so assertions with made-up kids
        cannot turn into a stream of requests to the client's server.
        ``now``: the app's clock (seconds), for tests that move time."""
        now = time.time() if now is None else now
        entry = self._cache.get(url)
        cached = entry.keys if entry is not None and now - entry.fetched_at < self.ttl else None
        if cached is not None and (kid is None or any(k.kid == kid for k in cached.keys)):
            return cached
        if entry is not None and now - entry.attempted_at < self.min_refetch:
            if cached is not None:
                return cached  # the unknown kid then fails verification
            raise JwksUnavailable("jwks_uri failed recently")
        try:
            keys = fetch(url, allow_private_networks)
        except JwksUnavailable:
            with self._lock:
                self._cache[url] = _Entry(
                    entry.keys if entry else None, entry.fetched_at if entry else now, now
                )
            if cached is not None:
                return cached
            raise
        with self._lock:
            self._cache[url] = _Entry(keys, now, now)
        return keys
