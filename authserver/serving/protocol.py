"""The HTTP/1.1 protocol ``authserver serve`` runs: uvicorn's httptools protocol, plus the
limits it lacks.

uvicorn with httptools buffers a request's headers without bound (httptools accumulates
a header value until it ends, whatever its size), never times out a connection that
sends nothing or stops half-way through its headers, and reads a body for as long as the
client trickles it. h11 has a size limit but no read timeouts either, and costs a good
part of the token endpoint's throughput. So, per connection:

- headers (request line included) may take ``max_header_bytes`` and ``max_headers``:
  431 beyond. The bytes received while headers are incomplete are counted as they
  arrive, so memory stays within the limit plus one read; complete headers are measured
  exactly only when what arrived exceeds the limit (no per-header callback of ours);
- a request's headers must arrive within ``header_timeout`` of its first byte (or of
  the connection being opened): 408 and close;
- its body must be complete within ``body_timeout`` of its headers: 408 (when no
  response has started) and close. The application then reads a disconnect.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from authserver.serving.coalesce import CoalescingTransport

log = logging.getLogger("authserver.http")


@dataclass(frozen=True)
class HttpLimits:
    max_header_bytes: int = 16_384
    max_headers: int = 100
    header_timeout: float = 10.0
    body_timeout: float = 20.0


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _too_large() -> _Refused:
    return _Refused(431, "Request header fields too large.")


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """Limits come from ``config.http_limits`` (an ``HttpLimits``; set by
    ``serving.listeners``, pickled to worker processes with the rest of the config)."""

    def __init__(self, config: Any, server_state: Any, app_state: Any, _loop: Any = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits: HttpLimits = getattr(config, "http_limits", HttpLimits())
        self._reading_headers = True
        self._received = 0  # bytes received while this request's headers are incomplete
        # One deadline at a time (headers, then body), watched by at most one timer per
        # connection that re-arms itself: moving the deadline costs no timer operation,
        # which per request would be a measurable share of the parsing.
        self._deadline: float | None = None
        self._late: Any = None
        self._timer: asyncio.TimerHandle | None = None
        self._tick = min(self.limits.header_timeout, self.limits.body_timeout)

    # --- the deadline ------------------------------------------------------------------

    def _expect_by(self, seconds: float, late: Any) -> None:
        self._deadline = self.loop.time() + seconds
        self._late = late
        if self._timer is None:
            self._timer = self.loop.call_later(self._tick, self._check)

    def _check(self) -> None:
        # The timer never waits longer than the shortest timeout, so it is never late for
        # a deadline set while it was pending (none can be nearer than that).
        self._timer = None
        if self._deadline is None:
            return
        left = self._deadline - self.loop.time()
        if left > 0:
            self._timer = self.loop.call_later(min(left, self._tick), self._check)
            return
        self._deadline = None
        self._late()

    def _disarm(self) -> None:
        self._deadline = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _headers_late(self) -> None:
        if self.transport.is_closing():
            return
        if self._received == 0 and (self.cycle is None or self.cycle.response_complete):
            self.transport.close()  # an idle connection: nothing to answer
            return
        self._refuse(_Refused(408, "Request headers not received in time."))

    def _body_late(self) -> None:
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if cycle is not None and not cycle.response_started:
            self._refuse(_Refused(408, "Request body not received in time."))
        if cycle is not None:
            cycle.disconnected = True  # the application's next receive() says so
            cycle.message_event.set()
        self.transport.close()

    def _refuse(self, refusal: _Refused) -> None:
        log.info("%s (client %s)", refusal.message, self.client[0] if self.client else "?")
        body = refusal.message.encode("ascii")
        self.transport.write(
            STATUS_LINE[refusal.status]
            + b"content-type: text/plain; charset=utf-8\r\n"
            + b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body)
            + body
        )
        self.transport.close()

    # --- connection and parser callbacks ------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # A response's headers and body in one send (serving.coalesce).
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
        self._expect_by(self.limits.header_timeout, self._headers_late)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # uvicorn's, with refusals from the callbacks answered as what they are.
        self._unset_keepalive_if_required()
        if self._reading_headers:
            self._received += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            if isinstance(exc.__context__, _Refused):
                self._refuse(exc.__context__)
                return
            self.logger.warning("Invalid HTTP request received.")
            self.send_400_response("Invalid HTTP request received.")
            return
        except httptools.HttpParserError:
            self.logger.warning("Invalid HTTP request received.")
            self.send_400_response("Invalid HTTP request received.")
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        over = self._reading_headers and self._received > self.limits.max_header_bytes
        if over and not self.transport.is_closing():
            self._refuse(_too_large())

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:
            self._expect_by(self.limits.header_timeout, self._headers_late)

    def on_headers_complete(self) -> None:
        self._reading_headers = False
        limits = self.limits
        # Received so far bounds the headers' size from above (it may include body bytes):
        # only a request near the limit pays for the exact sum.
        if self._received > limits.max_header_bytes:
            size = len(self.url) + sum(len(n) + len(v) + 4 for n, v in self.headers)
            if size > limits.max_header_bytes:
                raise _too_large()
        if len(self.headers) > limits.max_headers:
            raise _Refused(431, "Too many request header fields.")
        self._expect_by(limits.body_timeout, self._body_late)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._deadline = None  # the timer, if any, finds nothing to do and stops
        self._reading_headers = True
        self._received = 0
        super().on_message_complete()
