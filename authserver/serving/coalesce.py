"""One send per response: the writes a connection makes within one event-loop step are
joined and handed to the socket together at the end of that step.

uvicorn writes a response's status line and headers when the application sends
``http.response.start`` and the body when it sends ``http.response.body``: two
``send()`` system calls, two TCP segments, and two wake-ups of the client, for what is
nearly always one small answer produced in one step of the request's task. Measured on
the pinned token endpoint (py-spy, bench/README.md), the socket writes were 15 % of the
event loop's time, half of it for the second one. Joined, the response leaves in one
call, as servers that build responses with ``writev`` (nginx, h2o) send it.

Nothing is held past the step that wrote it (``call_soon``), and ``close`` and
``write_eof`` send what is pending first, so the bytes, their order and the moment the
connection closes are those of the plain transport.
"""

from __future__ import annotations

import asyncio
from typing import Any


class CoalescingTransport:
    """Wraps a connection's transport; everything but writing is the transport's own."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if self._pending is None:
            self._pending = [bytes(data)]
            self._loop.call_soon(self._flush)
        else:
            self._pending.append(bytes(data))

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def _flush(self) -> None:
        pending, self._pending = self._pending, None
        if pending and not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def get_write_buffer_size(self) -> int:
        pending = sum(map(len, self._pending)) if self._pending else 0
        return self._transport.get_write_buffer_size() + pending

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending = None  # abort discards what is buffered, ours included
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
