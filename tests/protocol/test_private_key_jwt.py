"""private_key_jwt client authentication (RFC 7523 §2.2, OIDC Core §9) with keys given
inline or published at a jwks_uri: the algorithms discovery advertises are the ones
accepted, symmetric and private keys are refused, a jwks_uri is fetched safely (no
redirects, no private addresses, malformed documents are an ``invalid_client``), and an
unknown ``kid`` refetches the key set at most once per interval."""

from __future__ import annotations

import base64
import ipaddress
import json
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.testclient import TestClient

from authserver.app import create_app
from authserver.keys import remote
from authserver.oauth import registration as dcr
from tests.accounts_helpers import FakeClock
from tests.tls import certificates

ISSUER = "http://localhost:8000"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# A name the tests resolve themselves (see `resolve`); the certificate covers it.
TEST_HOST = "jwks.test.example"


# --- a local https server publishing JWK Sets ---------------------------------------


@dataclass
class Reply:
    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    # Announce more bytes than are sent, then close: http.client.IncompleteRead.
    truncate: bool = False


@dataclass
class JwksServer:
    port: int
    ca_file: Path
    replies: dict[str, Reply] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)

    def publish(self, reply: Reply | dict[str, Any] | list[Any], path: str | None = None) -> str:
        """Serve ``reply`` at a fresh path (or ``path``); returns the path."""
        path = path or f"/{uuid.uuid4().hex}/jwks.json"
        if not isinstance(reply, Reply):
            reply = Reply(json.dumps(reply).encode())
        self.replies[path] = reply
        return path

    def url(self, path: str, host: str = "localhost") -> str:
        return f"https://{host}:{self.port}{path}"


@pytest.fixture(scope="session")
def jwks_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JwksServer]:
    ca_file, chain_file = certificates(tmp_path_factory.mktemp("tls"), (TEST_HOST,))
    state = JwksServer(port=0, ca_file=ca_file)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.hits[self.path] = state.hits.get(self.path, 0) + 1
            reply = state.replies.get(self.path, Reply(b"not found", status=404))
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            length = len(reply.body) + (1000 if reply.truncate else 0)
            self.send_header("Content-Length", str(length))
            self.end_headers()
            self.wfile.write(reply.body)
            self.close_connection = True

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(chain_file)
    httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def trust_test_ca(jwks_server: JwksServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's default TLS context trusts the test CA (and only it) for this test."""
    monkeypatch.setenv("SSL_CERT_FILE", str(jwks_server.ca_file))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


@pytest.fixture
def resolve(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, list[str]], None]:
    """Make a host name resolve to the given addresses (other names resolve as usual)."""
    real = socket.getaddrinfo
    table: dict[str, list[str]] = {}

    def fake(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in table:
            return [
                (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (a, int(port), 0, 0))
                if ":" in a
                else (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (a, int(port)))
                for a in table[host]
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return table.__setitem__


# --- the app and its clients ----------------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app_settings(make_settings):
    """The tests' jwks_uri server is on loopback: allowed here, refused by default."""
    return make_settings(jwks_uri_allow_private_networks=True)


@pytest.fixture
def http(app_settings, clock, trust_test_ca) -> Iterator[TestClient]:
    with TestClient(create_app(app_settings, clock), base_url=ISSUER) as test_client:
        yield test_client


@pytest.fixture
def initial_token(services):
    with services.db.unit_of_work() as uow:
        return dcr.issue_initial_token(uow, services.clock, "tests", 3600)


def register(http: TestClient, token: str, **keys: Any) -> str:
    r = http.post(
        "/oauth/register",
        json={
            "grant_types": ["client_credentials"],
            "scope": "openid",
            "token_endpoint_auth_method": "private_key_jwt",
            **keys,
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 201, r.text
    return r.json()["client_id"]


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def key_for(alg: str) -> Any:
    if alg.startswith(("RS", "PS")):
        return rsa_key()
    curve = {"ES256": ec.SECP256R1(), "ES384": ec.SECP384R1(), "ES512": ec.SECP521R1()}[alg]
    return ec.generate_private_key(curve)


def public_jwk(key: Any, kid: str) -> dict[str, Any]:
    rsa_key_ = isinstance(key, rsa.RSAPrivateKey)
    algorithm = pyjwt.algorithms.RSAAlgorithm if rsa_key_ else pyjwt.algorithms.ECAlgorithm
    return {**algorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid}


def private_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk = pyjwt.algorithms.RSAAlgorithm.to_jwk(key, as_dict=True)
    jwk.pop("key_ops", None)  # ["sign"] would stop it verifying, whoever checks privacy
    return {**jwk, "kid": kid}


def assertion(key: Any, client_id: str, kid: str = "k1", alg: str = "RS256") -> str:
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": f"{ISSUER}/token",
        "iat": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
    }
    return pyjwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


def authenticate(http: TestClient, client_assertion: str) -> int:
    """Status of a token revocation (RFC 7009 §2.2: 200 once the client is authenticated,
    whatever the token) made with this client assertion."""
    r = http.post(
        "/revoke",
        data={
            "token": "no-such-token",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": client_assertion,
        },
    )
    if r.status_code != 200:
        assert r.status_code == 401 and r.json()["error"] == "invalid_client", r.text
    return r.status_code


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# --- algorithms -------------------------------------------------------------------------


def test_every_advertised_algorithm_is_accepted_and_only_asymmetric_ones(http, initial_token):
    meta = http.get("/.well-known/openid-configuration").json()
    algs = meta["token_endpoint_auth_signing_alg_values_supported"]
    assert "PS256" in algs
    assert algs == meta["revocation_endpoint_auth_signing_alg_values_supported"]
    assert algs == meta["introspection_endpoint_auth_signing_alg_values_supported"]
    # RFC 8414 §2: "none" MUST NOT be used; symmetric algorithms make no sense for
    # keys that are public.
    assert not [a for a in algs if a == "none" or a.startswith("HS")]
    for alg in algs:
        key = key_for(alg)
        cid = register(http, initial_token, jwks={"keys": [public_jwk(key, "k1")]})
        assert authenticate(http, assertion(key, cid, alg=alg)) == 200, alg


def test_an_unadvertised_algorithm_is_refused(http, initial_token):
    key = rsa_key()
    cid = register(http, initial_token, jwks={"keys": [public_jwk(key, "k1")]})
    assert authenticate(http, assertion(key, cid, alg="RS512")) == 401
    assert authenticate(http, assertion(key, cid, alg="RS256")) == 200


def test_hs256_with_a_symmetric_key_at_the_jwks_uri_is_refused(http, initial_token, jwks_server):
    # Anyone can read a jwks_uri: a shared secret published there forges assertions.
    secret = b"s" * 32
    path = jwks_server.publish({"keys": [{"kty": "oct", "k": b64(secret), "kid": "k1"}]})
    cid = register(http, initial_token, jwks_uri=jwks_server.url(path))
    assert authenticate(http, assertion(secret, cid, alg="HS256")) == 401


# --- what a jwks_uri may hold -----------------------------------------------------------


def test_keys_at_the_jwks_uri_authenticate(http, initial_token, jwks_server):
    rsa_private, ec_private = rsa_key(), key_for("ES256")
    path = jwks_server.publish(
        {"keys": [public_jwk(rsa_private, "r1"), public_jwk(ec_private, "e1")]}
    )
    cid = register(http, initial_token, jwks_uri=jwks_server.url(path))
    assert authenticate(http, assertion(rsa_private, cid, kid="r1", alg="PS256")) == 200
    assert authenticate(http, assertion(ec_private, cid, kid="e1", alg="ES256")) == 200
    assert jwks_server.hits[path] == 1  # cached


def test_a_jwks_uri_publishing_private_key_material_is_refused(http, initial_token, jwks_server):
    key = rsa_key()
    path = jwks_server.publish({"keys": [private_jwk(key, "k1")]})
    cid = register(http, initial_token, jwks_uri=jwks_server.url(path))
    assert authenticate(http, assertion(key, cid)) == 401


def test_a_jwks_uri_mixing_public_and_symmetric_keys_is_refused(http, initial_token, jwks_server):
    key = rsa_key()
    oct_key = {"kty": "oct", "k": b64(b"s" * 32), "kid": "k2"}
    path = jwks_server.publish({"keys": [public_jwk(key, "k1"), oct_key]})
    cid = register(http, initial_token, jwks_uri=jwks_server.url(path))
    assert authenticate(http, assertion(key, cid)) == 401


RSA_E_ONLY = {"kty": "RSA", "n": "x", "e": "AQAB", "kid": "k1"}


@pytest.mark.parametrize(
    "reply",
    [
        Reply(b"[]"),
        Reply(b'"keys"'),
        Reply(b"null"),
        Reply(b"{}"),
        Reply(b'{"keys": []}'),
        Reply(b'{"keys": "x"}'),
        Reply(b'{"keys": [1]}'),
        Reply(b'{"keys": [{}]}'),
        Reply(json.dumps({"keys": [RSA_E_ONLY]}).encode()),
        Reply(b'{"keys": [{"kty": "EC", "crv": "P-999", "x": "AA", "y": "AA"}]}'),
        Reply(b"not json"),
        Reply(b"\xff\xfe"),
        Reply(b'{"keys": [' + b" " * 70_000 + b"]}"),
        Reply(b'{"keys": []}', truncate=True),
        Reply(b"", status=500),
        Reply(b"", status=404),
    ],
    ids=lambda r: repr(r.body[:20]) + f"-{r.status}" + ("-truncated" if r.truncate else ""),
)
def test_a_malformed_jwks_uri_document_is_invalid_client(http, initial_token, jwks_server, reply):
    key = rsa_key()
    path = jwks_server.publish(reply)
    cid = register(http, initial_token, jwks_uri=jwks_server.url(path))
    assert authenticate(http, assertion(key, cid)) == 401
    assert jwks_server.hits[path] == 1


def test_a_redirect_from_the_jwks_uri_is_not_followed(http, initial_token, jwks_server):
    key = rsa_key()
    target = jwks_server.publish({"keys": [public_jwk(key, "k1")]})
    path = jwks_server.publish(
        Reply(b"", status=302, headers={"Location": jwks_server.url(target)})
    )
    cid = register(http, initial_token, jwks_uri=jwks_server.url(path))
    assert authenticate(http, assertion(key, cid)) == 401
    assert jwks_server.hits[path] == 1 and target not in jwks_server.hits


def test_an_unreachable_jwks_uri_is_invalid_client(http, initial_token):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    cid = register(http, initial_token, jwks_uri=f"https://localhost:{port}/jwks.json")
    assert authenticate(http, assertion(rsa_key(), cid)) == 401


# --- key rotation -----------------------------------------------------------------------


def test_an_unknown_kid_refetches_once_per_interval(http, initial_token, jwks_server, clock):
    old, new = rsa_key(), rsa_key()
    path = jwks_server.publish({"keys": [public_jwk(old, "old")]})
    cid = register(http, initial_token, jwks_uri=jwks_server.url(path))
    assert authenticate(http, assertion(old, cid, kid="old")) == 200
    assert jwks_server.hits[path] == 1

    # The client rotates: its new kid is unknown to our cached copy.
    jwks_server.publish({"keys": [public_jwk(new, "new")]}, path=path)
    clock.advance(30)
    assert authenticate(http, assertion(new, cid, kid="new")) == 200
    assert jwks_server.hits[path] == 2
    # A known kid uses the cache.
    assert authenticate(http, assertion(new, cid, kid="new")) == 200
    assert jwks_server.hits[path] == 2

    # Unknown kids right after a fetch fail without another fetch (rate limit), so a
    # stream of bogus assertions cannot make us hammer the client's server.
    for _ in range(3):
        assert authenticate(http, assertion(old, cid, kid="bogus")) == 401
    assert jwks_server.hits[path] == 2


def test_a_failed_fetch_is_not_retried_at_once(http, initial_token, jwks_server, clock):
    key = rsa_key()
    path = jwks_server.publish(Reply(b"", status=503))
    cid = register(http, initial_token, jwks_uri=jwks_server.url(path))
    assert authenticate(http, assertion(key, cid)) == 401
    assert authenticate(http, assertion(key, cid)) == 401
    assert jwks_server.hits[path] == 1
    jwks_server.publish({"keys": [public_jwk(key, "k1")]}, path=path)
    clock.advance(30)
    assert authenticate(http, assertion(key, cid)) == 200
    assert jwks_server.hits[path] == 2


# --- SSRF ---------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_a_loopback_jwks_uri_is_refused_by_default(
    make_settings, clock, trust_test_ca, initial_token, jwks_server, host
):
    settings = make_settings()
    assert settings.jwks_uri_allow_private_networks is False
    key = rsa_key()
    path = jwks_server.publish({"keys": [public_jwk(key, "k1")]})
    with TestClient(create_app(settings, clock), base_url=ISSUER) as http:
        cid = register(http, initial_token, jwks_uri=jwks_server.url(path, host))
        assert authenticate(http, assertion(key, cid)) == 401
    assert path not in jwks_server.hits  # never connected


@pytest.mark.parametrize(
    "addresses",
    [
        ["8.8.8.8", "127.0.0.1"],  # every address is checked, not the first one
        ["127.0.0.1", "8.8.8.8"],
        ["0.0.0.0"],  # reaches this machine
        ["::ffff:127.0.0.1"],  # loopback, written as IPv6
    ],
)
def test_a_name_with_any_non_global_address_is_refused(
    make_settings, clock, trust_test_ca, initial_token, jwks_server, resolve, addresses
):
    key = rsa_key()
    path = jwks_server.publish({"keys": [public_jwk(key, "k1")]})
    resolve(TEST_HOST, addresses)
    with TestClient(create_app(make_settings(), clock), base_url=ISSUER) as http:
        cid = register(http, initial_token, jwks_uri=jwks_server.url(path, TEST_HOST))
        assert authenticate(http, assertion(key, cid)) == 401
    assert path not in jwks_server.hits


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700::1111", True),
        ("10.0.0.1", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("192.0.2.1", False),  # documentation
        ("224.0.0.1", False),  # multicast
        ("255.255.255.255", False),
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fd00::1", False),
        ("ff0e::1", False),
        ("::ffff:10.0.0.1", False),
        ("2002:7f00:1::1", False),  # 6to4 around 127.0.0.1
        ("2002:0808:0808::1", True),  # 6to4 around 8.8.8.8
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 around 169.254.169.254
        ("64:ff9b::a00:1", False),  # NAT64 around 10.0.0.1
        ("64:ff9b::808:808", True),  # NAT64 around 8.8.8.8
        ("64:ff9b:1::a9fe:a9fe", False),  # NAT64 local use
        ("::a9fe:a9fe", False),  # IPv4-compatible 169.254.169.254
        ("::7f00:1", False),  # IPv4-compatible 127.0.0.1
        ("fec0::1", False),  # site-local
    ],
)
def test_which_addresses_a_jwks_uri_may_reach(address, public):
    # The addresses the over-HTTP tests cannot reach from here (nothing listens there).
    assert remote.is_public_address(ipaddress.ip_address(address)) is public


def test_the_fetch_connects_to_the_checked_address_and_verifies_the_name(
    http, initial_token, jwks_server, resolve
):
    # TEST_HOST resolves (once, for the check) to loopback, allowed by the setting here;
    # the connection goes there and TLS checks the certificate against TEST_HOST.
    key = rsa_key()
    path = jwks_server.publish({"keys": [public_jwk(key, "k1")]})
    resolve(TEST_HOST, ["127.0.0.1"])
    cid = register(http, initial_token, jwks_uri=jwks_server.url(path, TEST_HOST))
    assert authenticate(http, assertion(key, cid)) == 200
    assert jwks_server.hits[path] == 1
    # A name the certificate does not cover fails TLS verification.
    resolve("other.test.example", ["127.0.0.1"])
    other = register(http, initial_token, jwks_uri=jwks_server.url(path, "other.test.example"))
    assert authenticate(http, assertion(key, other)) == 401
    assert jwks_server.hits[path] == 1


# --- assertion lifetime -----------------------------------------------------------------

YEAR = 365 * 86_400
EPOCH = object()  # the literal time 0


@pytest.mark.parametrize(
    ("offsets", "status"),
    [
        ({"exp": 300}, 200),
        ({"iat": 0, "exp": 600}, 200),
        ({"exp": 10 * YEAR}, 401),  # no iat: exp alone must be near
        ({"iat": EPOCH, "exp": 10 * YEAR}, 401),
        ({"iat": 0, "exp": 3600}, 401),
        ({"iat": 3600, "exp": 3660}, 401),  # issued in the future
        ({"iat": -3600, "exp": 60}, 401),  # issued an hour ago
        ({"iat": "now", "exp": 60}, 401),
        ({"iat": 0, "exp": True}, 401),
        ({"iat": 0}, 401),  # RFC 7523 §3 item 4: exp is required
    ],
)
def test_assertion_lifetime_is_bounded(http, initial_token, offsets, status):
    """exp at most 10 minutes ahead and iat, when sent, a recent past: so a jti is kept
    for minutes, not the years an assertion might claim. Times are offsets from now."""
    key = rsa_key()
    cid = register(http, initial_token, jwks={"keys": [public_jwk(key, "k1")]})
    now = int(time.time())
    claims = {"iss": cid, "sub": cid, "aud": f"{ISSUER}/token", "jti": uuid.uuid4().hex}
    for name, offset in offsets.items():
        if offset is EPOCH:
            claims[name] = 0
        elif type(offset) is int:
            claims[name] = now + offset
        else:
            claims[name] = offset
    signed = pyjwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})
    assert authenticate(http, signed) == status
