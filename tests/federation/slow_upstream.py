"""An upstream OpenID Provider that is slow or down, at the TCP level: a real HTTP server
on 127.0.0.1 (threads) whose discovery document, token endpoint or keys can be made to
hang after accepting the connection (``hang``), answer only after some seconds
(``delay``) or send their answer a byte at a time (``trickle``), and whose token
endpoint can name a port nothing listens on (refused).
Hanging handlers are released when the server stops, so a test never waits on them."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.servers import free_port

# Longer than any outbound timeout a test sets: an answer this late is a failed test.
HANG_SECONDS = 20.0
TRICKLE_GAP = 0.25

ID_TOKEN = (  # a well-formed compact JWS ({"alg":"RS256","kid":"k1"}.{}.sig): keys are next
    "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.e30.c2ln"
)


@dataclass
class SlowUpstream:
    url: str
    hang: set[str] = field(default_factory=set)
    trickle: set[str] = field(default_factory=set)
    delay: dict[str, float] = field(default_factory=dict)
    # Documents in place of the defaults (a signed ID token, real keys).
    answers: dict[str, dict] = field(default_factory=dict)
    token_endpoint: str = ""
    released: threading.Event = field(default_factory=threading.Event)
    requests: list[str] = field(default_factory=list)

    def documents(self) -> dict[str, dict]:
        return {
            "/.well-known/openid-configuration": {
                "issuer": self.url,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": self.token_endpoint or f"{self.url}/token",
                "jwks_uri": f"{self.url}/jwks",
                "userinfo_endpoint": f"{self.url}/userinfo",
                "id_token_signing_alg_values_supported": ["RS256"],
            },
            "/token": {"access_token": "at", "token_type": "Bearer", "id_token": ID_TOKEN},
            "/jwks": {"keys": []},
            "/userinfo": {"sub": "someone"},
            **self.answers,
        }


def _handler(up: SlowUpstream) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def answer(self) -> None:
            path = self.path.split("?", 1)[0]
            up.requests.append(path)
            if path in up.hang and up.released.wait(HANG_SECONDS):
                return  # the server stopped: nothing more to say
            if path in up.delay and up.released.wait(up.delay[path]):
                return
            document = up.documents().get(path)
            status, body = (200, json.dumps(document).encode()) if document else (404, b"{}")
            head = (
                f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            ).encode()
            if path not in up.trickle:
                self.wfile.write(head + body)
                return
            for i in range(len(head + body)):  # every read arrives before a per-read timeout
                if up.released.wait(TRICKLE_GAP):
                    return
                self.wfile.write((head + body)[i : i + 1])
                self.wfile.flush()

        def do_GET(self) -> None:
            self.answer()

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.answer()

    return Handler


@contextmanager
def running_slow_upstream() -> Iterator[SlowUpstream]:
    port = free_port()
    up = SlowUpstream(f"http://127.0.0.1:{port}")
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(up))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield up
    finally:
        up.released.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def refused_url() -> str:
    """A loopback URL nothing listens on: connecting is refused at once."""
    return f"http://127.0.0.1:{free_port()}/token"
