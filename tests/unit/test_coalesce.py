"""A connection's writes within one event-loop step leave in one send (serving.coalesce):
on a real socket, what the peer receives, in order, and when the connection closes."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import uvloop

from authserver.serving.coalesce import CoalescingTransport


class Counting:
    """The real transport, counting the writes handed to it."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.sends: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.sends.append(bytes(data))
        self.transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


async def _pair() -> tuple[CoalescingTransport, Counting, socket.socket]:
    ours, theirs = socket.socketpair()
    theirs.setblocking(False)
    loop = asyncio.get_running_loop()
    transport, _ = await loop.connect_accepted_socket(asyncio.Protocol, ours)
    real = Counting(transport)
    return CoalescingTransport(real, loop), real, theirs  # type: ignore[arg-type]


async def _read_all(sock: socket.socket) -> bytes:
    loop = asyncio.get_running_loop()
    chunks = []
    while chunk := await asyncio.wait_for(loop.sock_recv(sock, 65536), 5):
        chunks.append(chunk)
    return b"".join(chunks)


def test_writes_of_one_step_go_out_in_one_send_in_order() -> None:
    async def main() -> None:
        wrapped, real, peer = await _pair()
        try:
            await _one_send(wrapped, real, peer)
        finally:
            real.transport.abort()
            peer.close()

    async def _one_send(wrapped: CoalescingTransport, real: Counting, peer: socket.socket) -> None:
        wrapped.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        wrapped.write(b"{}")
        assert real.sends == []  # not before the step ends
        assert wrapped.get_write_buffer_size() == 40
        await asyncio.sleep(0)
        assert real.sends == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
        wrapped.write(b"next")
        await asyncio.sleep(0)
        assert real.sends[-1] == b"next"
        wrapped.write(b"last")
        wrapped.close()  # what is pending goes first
        assert await _read_all(peer) == b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}nextlast"
        peer.close()

    uvloop.run(asyncio.wait_for(main(), 10))


def test_abort_drops_what_is_pending_and_nothing_is_written_after_close() -> None:
    async def main() -> None:
        wrapped, real, peer = await _pair()
        wrapped.write(b"never")
        wrapped.abort()
        await asyncio.sleep(0)
        assert real.sends == []
        assert await _read_all(peer) == b""
        peer.close()

        wrapped, real, peer = await _pair()
        wrapped.close()
        wrapped.write(b"too late")
        await asyncio.sleep(0)
        assert real.sends == []
        peer.close()

    uvloop.run(asyncio.wait_for(main(), 10))
