"""Request ids, structured JSON logs and per-request metrics.

Every request gets an id (a sane incoming ``X-Request-Id`` is kept, else a new one), echoed
in the response and attached to every log line written while it is handled. One JSON
access-log line per request; counts and latencies per endpoint in Prometheus."""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid
from contextvars import ContextVar
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
access_log = logging.getLogger("authserver.access")
SAFE_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


class JsonFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__()
        # strftime is the dearest part of a line; the seconds change once a second.
        self._second: tuple[int, str] = (-1, "")
        # The pid is read once (and again in a forked child), not once per record:
        # getpid is a system call (``configure_logging`` turns off logging's own).
        self._pid = os.getpid()
        os.register_at_fork(after_in_child=self._forked)

    def _forked(self) -> None:
        self._pid = os.getpid()

    def _timestamp(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        cached = self._second
        if cached[0] != second:
            cached = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
            self._second = cached
        return f"{cached[1]}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self._timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            # Which process: with several workers, lines of each interleave.
            "pid": self._pid,
        }
        rid = getattr(record, "request_id", None) or request_id.get()
        if rid:
            entry["request_id"] = rid
        for key in ("method", "path", "status", "duration_ms", "client_ip", "endpoint"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str, fmt: str) -> None:
    """Called once by `authserver serve` (never at import)."""
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    # Each record would otherwise ask the OS for the pid and look up the thread's and
    # process's names; no line shows them (the JSON formatter has the pid itself).
    logging.logProcesses = False
    logging.logThreads = False
    logging.logMultiprocessing = False
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


def endpoint_name(scope: Scope) -> str:
    endpoint = scope.get("endpoint")
    if endpoint is None:
        return "unmatched"
    name = getattr(endpoint, "__name__", type(endpoint).__name__)
    module = getattr(endpoint, "__module__", "").rsplit(".", 1)[-1]
    return f"{module}.{name}" if module else name


def write_access_line(scope: Scope, status: int, elapsed: float, endpoint: str, rid: str) -> None:
    """The access-log record of one request, handed to the logger's handlers.

    Built directly rather than through ``Logger.info``, which walks the stack for the
    caller's file and line on every call: the access log always comes from here."""
    client = scope.get("client")
    method, path = scope["method"], scope["path"]
    record = access_log.makeRecord(
        access_log.name,
        logging.INFO,
        __file__,
        0,
        "%s %s %s",
        (method, path, status),
        None,
        extra={
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": round(elapsed * 1000, 2),
            "endpoint": endpoint,
            "client_ip": client[0] if client else None,
            "request_id": rid,
        },
    )
    access_log.handle(record)


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp, access_log_enabled: bool = True) -> None:
        self.app = app
        self.access_log_enabled = access_log_enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"").decode(
            "latin-1"
        )
        rid = incoming if SAFE_ID.fullmatch(incoming) else uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            endpoint = endpoint_name(scope)
            services = scope.get("state", {}).get("services")
            if services is not None:
                services.metrics.request_done(endpoint, scope["method"], status, elapsed)
            if self.access_log_enabled and access_log.isEnabledFor(logging.INFO):
                write_access_line(scope, status, elapsed, endpoint, rid)
            request_id.reset(token)
