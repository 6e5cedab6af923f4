"""Running the app under uvicorn: one process or several workers, on the public listener
and, when ``ops_port`` is set, on a second listener for /healthz, /readyz and /metrics.

Both listeners' sockets are bound here, before any worker starts, and handed to every
worker, which serves both from one app (so /metrics there counts what the public
listener did); ``ops.OpsListenerOnly`` keeps the second one to the operations paths."""

from __future__ import annotations

import logging
import os
import socket
import tempfile
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

from authserver.app import create_app
from authserver.serving.protocol import GuardedHttpToolsProtocol, HttpLimits
from authserver.settings import PREFIX, Settings

log = logging.getLogger("authserver.serve")


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    return dict(
        host=settings.host,
        port=settings.port,
        # One process: uvloop, accepting every waiting connection at once (serving.accept).
        # Several workers share one listening socket: the first one awake would take
        # every waiting connection and keep it (keep-alive) while the others idle
        # (measured 64 / 0); uvloop's own one accept per wake-up spreads them.
        loop="authserver.serving.accept:new_event_loop" if settings.workers == 1 else "uvloop",
        http=GuardedHttpToolsProtocol,
        ws="none",
        lifespan="on",
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        log_level=settings.log_level,
        log_config=None,  # the workers' logging is configured by the app factory
        server_header=False,
        # Beyond this many connections + requests in flight, new requests get 503.
        limit_concurrency=settings.max_connections,
        timeout_keep_alive=settings.keep_alive_timeout,
    )


def http_limits(settings: Settings) -> HttpLimits:
    return HttpLimits(
        max_header_bytes=settings.max_header_bytes,
        max_headers=settings.max_headers,
        header_timeout=settings.header_timeout,
        body_timeout=settings.body_timeout,
    )


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def run(settings: Settings, overrides: dict[str, object]) -> int:
    """Serve until stopped; ``overrides``: command-line settings, passed on to workers."""
    options = uvicorn_options(settings)
    if settings.workers == 1:
        config = uvicorn.Config(create_app(settings, freeze_gc=True), **options)
    else:
        # Each worker process builds its own app from the environment (with these
        # overrides), and writes its metric samples to a shared folder so /metrics on
        # any worker reports all of them.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="authserver-metrics-")
        for key, value in overrides.items():
            os.environ[f"{PREFIX}{key.upper()}"] = str(value)
        config = uvicorn.Config(
            "authserver.app:app_from_environment",
            factory=True,
            workers=settings.workers,
            **options,
        )
    config.http_limits = http_limits(settings)  # type: ignore[attr-defined]
    sockets = [config.bind_socket()]
    if settings.ops_port is not None:
        sockets.append(_bind(settings.ops_host, settings.ops_port))
        log.info("operations listener on %s:%d", settings.ops_host, settings.ops_port)
    if settings.workers == 1:
        server = uvicorn.Server(config)
        server.run(sockets=sockets)
        return 0 if server.started else 1
    Multiprocess(config, sockets=sockets).run()
    return 0
