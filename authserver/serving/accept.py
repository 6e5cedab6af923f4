"""The event loop ``authserver serve`` runs: uvloop, accepting every waiting connection at
once (one process only: several workers keep uvloop's pace, see ``listeners``).

The libuv bundled with uvloop 0.2x accepts one connection per readiness event of a
listening socket, that is one per loop iteration. Under load an iteration serves every
ready request (64 connections' worth of token requests: 30-40 ms), so connections that
arrive together wait in the kernel's accept queue and are let in one per iteration:
measured (bench/README.md, 2026-12-03), the 64 connections of a load test opened at once
were accepted over 1.1 s, and their first requests made the whole latency tail
(p99.9 554 ms against a p99 of 41 ms). It is a burst of connections arriving while the
loop is busy with established ones that waits; clients that each open a connection per
request are served alike either way (wrk with ``Connection: close``: 1,137 and 1,211
req/s, p99 60 and 75 ms).

Here a listening socket given to ``create_server`` (``authserver serve`` always passes
its bound sockets) is watched by a reader that accepts until the queue is empty (at most
``MAX_PER_WAKEUP`` at a time, the rest in the next iteration), as asyncio's own loop
does; each connection then becomes a uvloop transport (``connect_accepted_socket``), with
the same protocol. TLS (never configured by ``authserver serve``) and every other call
keep uvloop's own path.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Callable
from typing import Any

import uvloop

log = logging.getLogger("authserver.serve")

MAX_PER_WAKEUP = 128
# Out of file descriptors or memory: stop accepting for a moment (asyncio does the same).
RETRY_AFTER_SECONDS = 1.0
RESOURCE_ERRORS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


class AcceptingListener:
    """A listening socket served by accepting everything that waits (the part of
    ``asyncio.Server`` that uvicorn uses: ``close``, ``wait_closed``, ``sockets``)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        protocol_factory: Callable[[], asyncio.Protocol],
        backlog: int,
    ) -> None:
        self.loop = loop
        self.sock = sock
        self.protocol_factory = protocol_factory
        self._serving = True
        sock.setblocking(False)
        sock.listen(backlog)
        loop.add_reader(sock.fileno(), self._accept)

    @property
    def sockets(self) -> tuple[socket.socket, ...]:
        return (self.sock,)

    def is_serving(self) -> bool:
        return self._serving

    def _accept(self) -> None:
        for _ in range(MAX_PER_WAKEUP):
            try:
                conn, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                continue  # the client gave up while queued
            except OSError as exc:
                if exc.errno not in RESOURCE_ERRORS:
                    raise
                log.error("cannot accept connections (%s); again in %s s", exc, RETRY_AFTER_SECONDS)
                self.loop.remove_reader(self.sock.fileno())
                self.loop.call_later(RETRY_AFTER_SECONDS, self._resume)
                return
            self._serve(conn)

    def _resume(self) -> None:
        if self._serving:
            self.loop.add_reader(self.sock.fileno(), self._accept)

    def _serve(self, conn: socket.socket) -> None:
        conn.setblocking(False)
        # uvloop's TCP transport sets TCP_NODELAY, as on its own servers (without it a
        # response's second write waits for the client's delayed ACK: PERFORMANCE.md);
        # tests/unit/test_accept.py checks that it still does.
        task = self.loop.create_task(
            self.loop.connect_accepted_socket(self.protocol_factory, sock=conn)
        )
        task.add_done_callback(lambda t: _connected(t, conn))

    def close(self) -> None:
        """Stop accepting; the socket itself stays its owner's (uvicorn closes it)."""
        if self._serving:
            self._serving = False
            self.loop.remove_reader(self.sock.fileno())

    async def wait_closed(self) -> None:
        return None


def _connected(task: asyncio.Task[Any], conn: socket.socket) -> None:
    if task.cancelled() or task.exception() is None:
        return
    log.info("connection dropped while being set up: %s", task.exception())
    conn.close()


class AcceptAllLoop(uvloop.Loop):  # type: ignore[misc]
    async def create_server(  # type: ignore[override]
        self,
        protocol_factory: Callable[[], asyncio.Protocol],
        host: Any = None,
        port: Any = None,
        *,
        sock: socket.socket | None = None,
        backlog: int = 100,
        ssl: Any = None,
        **kwargs: Any,
    ) -> Any:
        if sock is None or ssl is not None or kwargs or host is not None or port is not None:
            return await super().create_server(
                protocol_factory, host, port, sock=sock, backlog=backlog, ssl=ssl, **kwargs
            )
        return AcceptingListener(self, sock, protocol_factory, backlog)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvicorn's loop factory (``loop="authserver.serving.accept:new_event_loop"``)."""
    return AcceptAllLoop()
