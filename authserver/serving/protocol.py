"""The HTTP/1.1 protocol ``authserver serve`` runs: uvicorn's httptools protocol, plus the
limits it lacks.

uvicorn with httptools buffers a request's headers without bound (httptools accumulates
a header value until it ends, whatever its size), never times out a connection that
sends nothing or stops half-way through its headers, and reads a body for as long as the
client trickles it. h11 has a size limit but no read timeouts either, and costs a good
part of the token endpoint's throughput. So, per connection:

- headers (request line included) may take ``max_header_bytes`` and ``max_headers``:
  431 beyond. The bytes received while headers are incomplete are counted as they
  arrive, so memory stays within the limit plus one read;
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
        self._header_bytes = 0  # bytes of request line and headers parsed so far
        self._header_count = 0
        self._timer: asyncio.TimerHandle | None = None

    # --- timers ----------------------------------------------------------------------

    def _arm(self, seconds: float, callback: Any) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, callback)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _headers_late(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        if self._received == 0 and (self.cycle is None or self.cycle.response_complete):
            self.transport.close()  # an idle connection: nothing to answer
            return
        self._refuse(_Refused(408, "Request headers not received in time."))

    def _body_late(self) -> None:
        self._timer = None
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
        super().connection_made(transport)
        self._arm(self.limits.header_timeout, self._headers_late)

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
        if self._timer is None:
            self._arm(self.limits.header_timeout, self._headers_late)

    def _count(self, n: int) -> None:
        self._header_bytes += n
        if self._header_bytes > self.limits.max_header_bytes:
            raise _too_large()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        if self._header_count > self.limits.max_headers:
            raise _Refused(431, "Too many request header fields.")
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._reading_headers = False
        self._arm(self.limits.body_timeout, self._body_late)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        self._reading_headers = True
        self._received = self._header_bytes = self._header_count = 0
        super().on_message_complete()
