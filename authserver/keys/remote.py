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

The whole fetch (host name lookup, connect, TLS handshake, request, status line, headers,
body) ends by one wall-clock deadline: a per-read timeout alone lets a host sending a byte every few
seconds hold a fetch for hours. Caching, single-flight and the threads fetches run on
are ``keys.remote_cache``'s."""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import ssl
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from authserver.oauth.client_registry import ClientSpec, key_problems

MAX_BYTES = 64 * 1024
# Seconds for the whole fetch, from the moment it is asked for.
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


# IPv6 prefixes that reach an IPv4 address written in their last 32 bits: NAT64's
# well-known prefix (RFC 6052 §2.1; a DNS64 network routes 64:ff9b::a9fe:a9fe to
# 169.254.169.254) and the deprecated IPv4-compatible addresses (RFC 4291 §2.5.5.1).
_EMBEDDING_IPV4 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("::/96"))
# Never global, whatever the interpreter's table says: NAT64 local use (RFC 8215), where
# the IPv4 address may sit anywhere, and the deprecated site-local range (RFC 3879).
_NOT_GLOBAL = (ipaddress.ip_network("64:ff9b:1::/48"), ipaddress.ip_network("fec0::/10"))


def is_public_address(address: IPAddress) -> bool:
    """A global unicast address, also when written inside an IPv6 one (IPv4-mapped,
    6to4, Teredo, NAT64, IPv4-compatible), whose embedded IPv4 address is what would
    be reached."""
    if isinstance(address, ipaddress.IPv6Address):
        if any(address in network for network in _NOT_GLOBAL):
            return False
        embedded = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ())]
        if any(address in network for network in _EMBEDDING_IPV4):
            embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if any(e is not None and not is_public_address(e) for e in embedded):
            return False
    return address.is_global and not address.is_multicast


class _DeadlineSocket(ssl.SSLSocket):
    """A TLS socket whose every read and write may take only the time left before the
    fetch's deadline (``http.client`` reads the status line, headers and body through
    ``recv_into``)."""

    deadline: float | None = None

    def _arm(self) -> None:
        if self.deadline is not None:
            self.settimeout(_time_left(self.deadline))

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        self._arm()
        return super().recv_into(buffer, nbytes, flags)

    def sendall(self, data: Any, flags: int = 0) -> None:
        self._arm()
        super().sendall(data, flags)


def _time_left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("jwks_uri too slow")
    return left


class _CheckedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to addresses resolved and checked beforehand: connecting does not look the
    name up again, and TLS still verifies the certificate against the name. Every step
    ends by ``deadline`` (``time.monotonic()``)."""

    def __init__(self, host: str, port: int, addresses: list[AddrInfo], deadline: float) -> None:
        self._tls = ssl.create_default_context()
        self._tls.sslsocket_class = _DeadlineSocket
        super().__init__(host, port, timeout=TIMEOUT, context=self._tls)
        self._addresses = addresses
        self._deadline = deadline

    def connect(self) -> None:
        error: OSError = OSError("no address")
        for family, kind, proto, _, sockaddr in self._addresses:
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(_time_left(self._deadline))
                sock.connect(sockaddr)
                # The handshake runs in one call, which CPython bounds by this timeout.
                sock.settimeout(_time_left(self._deadline))
                tls = self._tls.wrap_socket(sock, server_hostname=self.host)
                tls.deadline = self._deadline  # type: ignore[attr-defined]
                self.sock = tls
                return
            except OSError as exc:
                sock.close()
                error = exc
        raise error


def _lookup(host: str, port: int, deadline: float) -> list[AddrInfo]:
    """``getaddrinfo``, done by ``deadline``. The system resolver takes no timeout of
    ours (its own, from resolv.conf, can be tens of seconds), so the lookup runs on a
    thread of its own, left to finish alone if the deadline passes first."""
    found: list[list[AddrInfo]] = []
    failed: list[OSError] = []
    done = threading.Event()

    def look_up() -> None:
        try:
            found.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except OSError as exc:
            failed.append(exc)
        finally:
            done.set()

    threading.Thread(target=look_up, name="jwks-uri-lookup", daemon=True).start()
    if not done.wait(_time_left(deadline)):
        raise TimeoutError("jwks_uri host name lookup too slow")
    if failed:
        raise failed[0]
    return found[0]


def _resolve(
    host: str, port: int, allow_private_networks: bool, deadline: float
) -> list[AddrInfo]:
    addresses = _lookup(host, port, deadline)
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


def fetch(url: str, allow_private_networks: bool = False, deadline: float | None = None) -> KeySet:
    """GET ``url`` once, as described above, done by ``deadline`` (``time.monotonic()``,
    default ``TIMEOUT`` from now); raises ``JwksUnavailable``."""
    deadline = time.monotonic() + TIMEOUT if deadline is None else deadline
    try:
        _time_left(deadline)  # it may have waited for a thread past its deadline
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise JwksUnavailable("jwks_uri must be an https URL")
        port = parts.port or 443
        addresses = _resolve(parts.hostname, port, allow_private_networks, deadline)
        connection = _CheckedHTTPSConnection(parts.hostname, port, addresses, deadline)
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
        # OSError: DNS, connect, TLS, timeouts and the deadline. HTTPException: a broken response
        # (IncompleteRead, bad status line). ValueError: bad URL, port, JSON or UTF-8.
        raise JwksUnavailable(f"jwks_uri: {type(exc).__name__}") from exc


def _read_capped(response: http.client.HTTPResponse) -> bytes:
    length = response.getheader("Content-Length")
    if length is not None and length.isdigit() and int(length) > MAX_BYTES:
        raise JwksUnavailable("jwks_uri document too large")
    body = b""
    while chunk := response.read(min(16 * 1024, MAX_BYTES + 1 - len(body))):
        body += chunk
        if len(body) > MAX_BYTES:
            raise JwksUnavailable("jwks_uri document too large")
    return body


class DocumentUnavailable(Exception):
    """An upstream document (SAML metadata, ...) could not be had by the rules above."""


def fetch_document(
    url: str,
    *,
    accept: str,
    max_bytes: int,
    allow_private_networks: bool = False,
    timeout: float = TIMEOUT,
) -> bytes:
    """GET ``url`` by the rules of ``fetch`` (https, checked addresses, no redirect, one
    deadline, a size cap) and return the body; raises ``DocumentUnavailable``."""
    deadline = time.monotonic() + timeout
    try:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise DocumentUnavailable("must be an https URL")
        port = parts.port or 443
        addresses = _resolve(parts.hostname, port, allow_private_networks, deadline)
        connection = _CheckedHTTPSConnection(parts.hostname, port, addresses, deadline)
        try:
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            connection.request("GET", target, headers={"Accept": accept})
            with connection.getresponse() as response:
                if response.status != 200:
                    raise DocumentUnavailable(f"answered {response.status}")
                length = response.getheader("Content-Length")
                if length is not None and length.isdigit() and int(length) > max_bytes:
                    raise DocumentUnavailable("document too large")
                body = response.read(max_bytes + 1)
            if len(body) > max_bytes:
                raise DocumentUnavailable("document too large")
            return body
        finally:
            connection.close()
    except DocumentUnavailable:
        raise
    except JwksUnavailable as exc:  # from _resolve: the address rules
        raise DocumentUnavailable(str(exc)) from None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise DocumentUnavailable(type(exc).__name__) from exc
