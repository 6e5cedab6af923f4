"""`authserver serve` against slow and greedy clients, spoken to over raw sockets: header
size and count limits, header and body read deadlines, a bound on connections, client
disconnects logged as what they are; the operations surface kept off the public
listener; and several workers logging as one process does."""

from __future__ import annotations

import json
import select
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.conftest import FAST_HASHING
from tests.servers import Server, free_port, running_server

pytestmark = pytest.mark.slow

OPS_TOKEN = "o" * 40
LIMITS = {
    "AUTHSERVER_MAX_HEADER_BYTES": "8192",
    "AUTHSERVER_MAX_HEADERS": "40",
    "AUTHSERVER_HEADER_TIMEOUT": "2",
    "AUTHSERVER_BODY_TIMEOUT": "2",
    "AUTHSERVER_MAX_CONNECTIONS": "12",
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, int]]:
    home = tmp_path_factory.mktemp("serving")
    ops_port = free_port()
    env = {
        "XDG_DATA_HOME": str(home / "xdg"),
        # A public-looking issuer: the operations detail is not for the public listener.
        "AUTHSERVER_ISSUER": "https://auth.example.com",
        "AUTHSERVER_OPS_PORT": str(ops_port),
        "AUTHSERVER_OPS_TOKEN": OPS_TOKEN,
        **LIMITS,
        **{f"AUTHSERVER_{k.upper()}": str(v) for k, v in FAST_HASHING.items()},
    }
    # https issuer, plain http listener (as behind a TLS-terminating proxy); the argon2
    # minimum for a public issuer does not matter here.
    env["AUTHSERVER_ARGON2_MEMORY_KIB"], env["AUTHSERVER_ARGON2_TIME_COST"] = "19456", "2"
    with running_server(env, home) as server:
        yield server, ops_port


def connect(server: Server) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def send_all(sock: socket.socket, data: bytes, chunk: int = 4096) -> int:
    """Send what the server takes; the number of bytes it took before hanging up."""
    sent = 0
    try:
        for i in range(0, len(data), chunk):
            sock.sendall(data[i : i + chunk])
            sent += len(data[i : i + chunk])
    except OSError:
        pass
    return sent


def answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data


def status(raw: bytes) -> int:
    return int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/1.1 ") else 0


def request(path: str = "/healthz", *headers: bytes) -> bytes:
    return b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n" + b"".join(headers) + b"\r\n"


# Headers of a token request announcing a 100-byte body.
POST_100 = (
    b"POST /token HTTP/1.1\r\nHost: x\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n"
)


def test_an_oversized_header_is_refused_before_it_is_all_read(served):
    server, _ = served
    with connect(server) as sock:
        big = request("/healthz", b"X-Big: " + b"a" * 65536 + b"\r\n")
        sent, step = 0, 2048
        while sent < len(big) and not select.select([sock], [], [], 0.02)[0]:
            if send_all(sock, big[sent : sent + step]) < step:
                break  # hung up on us
            sent += step
        assert status(answer(sock)) == 431
    assert sent < len(big)  # answered long before the end


def test_too_many_header_fields_or_too_many_bytes_at_once_are_refused(served):
    server, _ = served
    with connect(server) as sock:
        sock.sendall(request("/healthz", *(b"X-%d: 1\r\n" % i for i in range(41))))
        assert status(answer(sock)) == 431
    with connect(server) as sock:  # complete headers over the limit, in one write
        sock.sendall(request("/healthz", b"X-Big: " + b"a" * 8200 + b"\r\n"))
        assert status(answer(sock)) == 431
    with connect(server) as sock:  # within the limits: served
        sock.sendall(request("/healthz", *(b"X-%d: 1\r\n" % i for i in range(30))))
        assert status(sock.recv(65536)) == 200


def test_unfinished_headers_are_cut_off(served):
    server, _ = served
    with connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        assert status(answer(sock)) == 408
    with connect(server) as sock:  # a connection that never says anything is closed
        assert answer(sock) == b""


def test_a_trickled_body_is_cut_off(served):
    server, _ = served
    with connect(server) as sock:
        sock.sendall(POST_100)
        sent = 0
        while sent < 100 and not select.select([sock], [], [], 0.3)[0]:
            if send_all(sock, b"a") == 0:
                break
            sent += 1
        assert status(answer(sock)) == 408
    assert sent < 100
    # The app hears of the disconnect on the loop iteration after the connection closed:
    # its log line may come a moment after the client saw the close.
    deadline = time.monotonic() + 5
    while "client disconnected before the request was read" not in (log := server.log.read_text()):
        assert time.monotonic() < deadline, log
        time.sleep(0.05)
    assert "Traceback" not in log and '"level": "error"' not in log


def test_a_client_hanging_up_mid_body_is_no_error(served):
    server, _ = served
    with connect(server) as sock:
        sock.sendall(POST_100 + b"grant_type=")
        time.sleep(0.3)
    time.sleep(0.5)
    log = server.log.read_text()
    assert "Traceback" not in log and '"level": "error"' not in log


def test_connections_beyond_the_bound_get_503(served):
    server, _ = served
    idle = [connect(server) for _ in range(12)]
    try:
        with connect(server) as sock:
            sock.sendall(request("/healthz", b"Connection: close\r\n"))
            assert status(answer(sock)) == 503
    finally:
        for s in idle:
            s.close()
    time.sleep(0.3)
    with connect(server) as sock:
        sock.sendall(request("/healthz", b"Connection: close\r\n"))
        assert status(answer(sock)) == 200


def test_operations_detail_stays_off_the_public_listener(served):
    server, ops_port = served
    with httpx.Client(base_url=server.url, timeout=10) as public:
        assert public.get("/metrics").status_code == 401
        wrong = {"Authorization": "Bearer " + "x" * 40}
        assert public.get("/metrics", headers=wrong).status_code == 401
        r = public.get("/metrics", headers={"Authorization": f"Bearer {OPS_TOKEN}"})
        assert r.status_code == 200 and "authserver_http_requests_total" in r.text
        assert public.get("/readyz").json() == {"status": "ready"}
        detail = public.get("/readyz", headers={"Authorization": f"Bearer {OPS_TOKEN}"})
        assert detail.json()["checks"]["database"] is True
    with httpx.Client(base_url=f"http://127.0.0.1:{ops_port}", timeout=10) as ops:
        assert ops.get("/readyz").json()["checks"]["signing_key"] is True
        assert "authserver_http_requests_total" in ops.get("/metrics").text
        # Nothing but the operations paths there.
        assert ops.get("/.well-known/jwks.json").status_code == 404
        assert ops.post("/token", data={"grant_type": "client_credentials"}).status_code == 404


# --- several workers ---------------------------------------------------------------------


def test_every_worker_logs_as_one_process_does(prod_env, tmp_path: Path):
    env = {**prod_env, "AUTHSERVER_WORKERS": "2"}
    ids: list[str] = []

    def logged() -> list[dict]:
        return [json.loads(line) for line in server.log.read_text().splitlines() if line]

    def access_lines() -> dict[str, dict]:
        return {e["request_id"]: e for e in logged() if e["logger"] == "authserver.access"}

    with running_server(env, tmp_path) as server:
        # A new connection each; the workers take them as they come: ask until both have.
        for _ in range(15):
            for _ in range(20):
                ids.append(f"worker-test-{uuid.uuid4().hex[:12]}")
                with httpx.Client(base_url=server.url, timeout=10) as http:
                    r = http.get("/healthz", headers={"X-Request-Id": ids[-1]})
                    assert r.status_code == 200
            time.sleep(0.2)
            if len({e["pid"] for e in access_lines().values()}) == 2:
                break
        access = access_lines()
        lines = logged()  # every line is JSON (json.loads above), the supervisor's too
    assert set(ids) <= set(access)
    assert {access[rid]["path"] for rid in ids} == {"/healthz"}
    assert len({access[rid]["pid"] for rid in ids}) == 2
    assert len({e["pid"] for e in lines}) == 3
