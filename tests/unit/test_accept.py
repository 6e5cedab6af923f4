"""``serving.accept``: the server's loop lets in every waiting connection at once, not one
per loop iteration (libuv's pace, which made the latency tail: bench/README.md)."""

from __future__ import annotations

import asyncio
import socket

import pytest
import uvloop

from authserver.serving import accept
from authserver.serving.listeners import uvicorn_options
from authserver.settings import load_settings

WAITING = 24


class Counting(asyncio.Protocol):
    def __init__(self, made: list[asyncio.Transport]) -> None:
        self.made = made

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.made.append(transport)  # type: ignore[arg-type]


class Echo(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(b"echo:" + data)  # type: ignore[attr-defined]


def listening() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


def iterations_to_accept(loop: asyncio.AbstractEventLoop) -> int:
    """Loop iterations until ``WAITING`` connections, all queued before the server looks,
    have reached their protocol; the loop is kept busy (a callback re-queued every
    iteration, so libuv polls without blocking), as it is under load."""
    sock = listening()
    clients = [socket.create_connection(sock.getsockname()) for _ in range(WAITING)]
    made: list[asyncio.Transport] = []
    iterations = 0

    async def main() -> int:
        nonlocal iterations
        server = await loop.create_server(lambda: Counting(made), sock=sock)
        done = loop.create_future()

        def tick() -> None:
            nonlocal iterations
            iterations += 1
            if len(made) >= WAITING or iterations > 10 * WAITING:
                done.set_result(None)
            else:
                loop.call_soon(tick)

        loop.call_soon(tick)
        await done
        server.close()
        for t in made:
            t.close()
        return len(made)

    try:
        assert loop.run_until_complete(main()) == WAITING
    finally:
        for c in clients:
            c.close()
        sock.close()
        loop.close()
    return iterations


def test_every_waiting_connection_is_accepted_within_a_few_iterations():
    assert iterations_to_accept(accept.new_event_loop()) <= 4


def test_plain_uvloop_takes_an_iteration_per_connection():
    # What the module exists for; if uvloop's libuv accepts in a loop again, this fails
    # and serving.accept can go.
    assert iterations_to_accept(uvloop.new_event_loop()) >= WAITING


def test_accepted_connections_are_served_and_close_stops_accepting():
    loop = accept.new_event_loop()
    sock = listening()
    address = sock.getsockname()

    async def main() -> None:
        server = await loop.create_server(Echo, sock=sock)
        assert isinstance(server, accept.AcceptingListener) and server.is_serving()
        reader, writer = await asyncio.open_connection(*address)
        writer.write(b"hi")
        assert await asyncio.wait_for(reader.read(100), 5) == b"echo:hi"
        writer.close()
        server.close()
        assert not server.is_serving()
        # Not accepted any more: a new connection sits in the kernel's queue, unanswered.
        reader2, writer2 = await asyncio.open_connection(*address)
        writer2.write(b"anyone?")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(reader2.read(100), 0.3)
        writer2.close()

    try:
        loop.run_until_complete(main())
    finally:
        sock.close()
        loop.close()


def test_nodelay_is_set_on_accepted_tcp_connections():
    loop = accept.new_event_loop()
    sock = listening()
    seen: list[int] = []

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            s = transport.get_extra_info("socket")
            seen.append(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    async def main() -> None:
        server = await loop.create_server(Probe, sock=sock)
        _, writer = await asyncio.open_connection(*sock.getsockname())
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.01)
        writer.close()
        server.close()

    try:
        loop.run_until_complete(main())
    finally:
        sock.close()
        loop.close()
    assert seen and seen[0] != 0


def test_serve_runs_on_this_loop():
    settings = load_settings({"AUTHSERVER_ISSUER": "http://127.0.0.1:8000"}, env_file=None)
    assert uvicorn_options(settings)["loop"] == "authserver.serving.accept:new_event_loop"


def test_several_workers_keep_uvloops_one_accept_per_wake_up():
    # The workers share one listening socket: with every waiting connection taken at once,
    # the first worker awake kept all 64 keep-alive connections of a load test in 4 of 6
    # tries (the other idle); uvloop's own pace spread them (bench/README.md, 2026-12-03).
    settings = load_settings(
        {
            "AUTHSERVER_ISSUER": "http://127.0.0.1:8000",
            "AUTHSERVER_WORKERS": "2",
            "AUTHSERVER_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1/test",
            "AUTHSERVER_REDIS_URL": "redis://127.0.0.1:6379/0",
        },
        env_file=None,
    )
    assert uvicorn_options(settings)["loop"] == "uvloop"
