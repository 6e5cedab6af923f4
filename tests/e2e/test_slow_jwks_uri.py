"""A private_key_jwt client whose jwks_uri host trickles its answer (one byte at a time)
cannot take the token endpoint down: the fetch ends by a hard deadline, one fetch runs
per URL however many requests need it, it runs on no protocol thread (other clients keep
getting tokens meanwhile), and its failure is remembered."""

from __future__ import annotations

import socket
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx2 as httpx
import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from authserver.keys import remote
from authserver.services import build_services, close_services
from authserver.settings import build_settings
from authserver.storage import migrate
from tests.conftest import FAST_HASHING
from tests.factories import Factory
from tests.servers import running_server
from tests.tls import certificates

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# Long enough that a fetch waiting for the whole answer outlives any test here.
TRICKLE_SECONDS = 40.0


@dataclass
class TrickleServer:
    """HTTPS on 127.0.0.1 that answers every request one byte every 0.2 s, in the status
    line and headers (``mode="headers"``) or in the body (``mode="body"``)."""

    port: int = 0
    ca_file: Path | None = None
    mode: str = "body"
    connections: int = 0
    open: int = 0
    # Per connection: whether the peer hung up before the trickle was over.
    cut_short: list[bool] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self) -> str:
        return f"https://localhost:{self.port}/{uuid.uuid4().hex}/jwks.json"

    def answer(self) -> bytes:
        body = b'{"keys": []}'.ljust(int(TRICKLE_SECONDS / 0.2))
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        head += b"Content-Length: %d\r\n\r\n" % len(body)
        if self.mode == "headers":
            return (head * 20)[: int(TRICKLE_SECONDS / 0.2)]
        return head + body

    def serve(self, conn: ssl.SSLSocket) -> None:
        with self.lock:
            self.connections += 1
            self.open += 1
        cut = False
        try:
            conn.settimeout(10)
            request = b""
            while b"\r\n\r\n" not in request and (chunk := conn.recv(4096)):
                request += chunk
            data = self.answer()
            if self.mode == "body":
                split = data.index(b"\r\n\r\n") + 4
                conn.sendall(data[:split])
                data = data[split:]
            for i in range(len(data)):
                conn.sendall(data[i : i + 1])
                time.sleep(0.2)
        except OSError:
            cut = True
        finally:
            conn.close()
            with self.lock:
                self.open -= 1
                self.cut_short.append(cut)


@pytest.fixture
def trickle(tmp_path: Path) -> Iterator[TrickleServer]:
    ca_file, chain_file = certificates(tmp_path)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(chain_file)
    listener = socket.create_server(("127.0.0.1", 0))
    state = TrickleServer(port=listener.getsockname()[1], ca_file=ca_file)
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                raw, _ = listener.accept()
            except TimeoutError:
                continue
            try:
                raw.settimeout(10)
                conn = tls.wrap_socket(raw, server_side=True)
            except OSError:
                raw.close()
                continue
            threading.Thread(target=state.serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield state
    stop.set()
    thread.join()
    listener.close()


def wait_for(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.parametrize("mode", ["headers", "body"])
def test_a_trickling_host_is_cut_off_at_the_deadline(trickle, mode, monkeypatch):
    trickle.mode = mode
    monkeypatch.setenv("SSL_CERT_FILE", str(trickle.ca_file))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    monkeypatch.setattr(remote, "TIMEOUT", 1.0)
    with pytest.raises(remote.JwksUnavailable):
        remote.fetch(trickle.url(), allow_private_networks=True)
    # We hung up while the host was still sending: it did not decide when we stopped.
    wait_for(lambda: trickle.open == 0)
    assert trickle.cut_short == [True]


# --- a real server process ---------------------------------------------------------------


def assertion(key: rsa.RSAPrivateKey, client_id: str, issuer: str) -> str:
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": f"{issuer}/token",
        "iat": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
    }
    # A kid the cache cannot know: every such request asks for a fetch.
    return pyjwt.encode(claims, key, algorithm="RS256", headers={"kid": uuid.uuid4().hex})


@pytest.mark.slow
def test_other_clients_get_tokens_while_a_jwks_uri_trickles(trickle, tmp_path, keys_dir):
    env = {
        "AUTHSERVER_DATABASE_URL": f"sqlite:///{tmp_path / 'authserver.db'}",
        "AUTHSERVER_KEYS_DIR": str(keys_dir),
        "AUTHSERVER_JWKS_URI_ALLOW_PRIVATE_NETWORKS": "true",
        # Two protocol threads: fewer than the slow requests below.
        "AUTHSERVER_THREAD_POOL_SIZE": "2",
        "SSL_CERT_FILE": str(trickle.ca_file),
        **{f"AUTHSERVER_{k.upper()}": str(v) for k, v in FAST_HASHING.items()},
    }
    migrate.upgrade(env["AUTHSERVER_DATABASE_URL"])
    seeding = build_services(
        build_settings(**{k[11:].lower(): v for k, v in env.items() if k[:11] == "AUTHSERVER_"})
    )
    try:
        factory = Factory(seeding)
        other = factory.client()
        jwks_uri = trickle.url()
        slow = factory.client(auth_method="private_key_jwt", jwks_uri=jwks_uri)
    finally:
        close_services(seeding)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    with running_server(env, tmp_path) as server, httpx.Client(base_url=server.url) as http:
        slow_answers: list[httpx.Response] = []

        def slow_request() -> None:
            data = {
                "grant_type": "client_credentials",
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": assertion(key, slow.client_id, server.url),
            }
            slow_answers.append(http.post("/token", data=data, timeout=30))

        threads = [threading.Thread(target=slow_request) for _ in range(6)]
        for t in threads:
            t.start()
        wait_for(lambda: trickle.open >= 1)

        served_while_trickling = 0
        for _ in range(20):
            r = http.post(
                "/token",
                auth=other.basic_auth,
                data={"grant_type": "client_credentials"},
                timeout=4,
            )
            assert r.status_code == 200, r.text
            served_while_trickling += trickle.open >= 1
        assert served_while_trickling >= 5

        for t in threads:
            t.join()
        assert [r.status_code for r in slow_answers] == [401] * 6
        assert {r.json()["error"] for r in slow_answers} == {"invalid_client"}
        # One fetch for six requests, cut off long before the host was done.
        wait_for(lambda: trickle.open == 0)
        assert trickle.connections == 1 and trickle.cut_short == [True]

        # The failure is remembered: the next request does not fetch again.
        slow_request()
        assert slow_answers[-1].status_code == 401
        assert trickle.connections == 1
