"""Run ``authserver`` with event-loop stall probes, to find what makes the latency tail.

    BENCH_PROBE_OUT=/tmp/probe.json python bench/probe.py serve --port 8000

Records, from the start of serving until the process stops (written to BENCH_PROBE_OUT):

- every garbage collection: when it started, its generation, how long it took, how many
  objects it collected;
- every event-loop stall: a heartbeat callback is due every 2 ms; when it runs more than
  ``BENCH_PROBE_LAG_MS`` (default 10) late, the lag and when it happened;
- with BENCH_PROBE_STACKS=1, for a stall still going on, what the loop thread was doing:
  a watchdog thread looks at the heartbeat every millisecond and, when it is older than
  the threshold, takes the loop thread's Python stack (once per stall; a stall inside C
  code holding the GIL, a collection for instance, shows only once it ends, as the
  collection record);
- each request's time in the app (ASGI call to return) and when it started;
- each request's time in the server (its first byte parsed to its response written),
  and every connection opened.

Nothing of this is the server's code: the probes are installed around it, here.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import threading
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = os.environ.get("BENCH_PROBE_OUT", "probe.json")
LAG = float(os.environ.get("BENCH_PROBE_LAG_MS", "10")) / 1000
TICK = 0.002

records: dict[str, list] = {
    "gc": [],
    "lag": [],
    "stacks": [],
    "requests": [],
    "server": [],
    "connections": [],
    "gaps": [],
}
beat = [time.perf_counter()]
cpu = [time.thread_time(), time.process_time()]
loop_thread: list[int] = []
_gc_start = [0.0]


def _gc_callback(phase: str, info: dict) -> None:
    if phase == "start":
        _gc_start[0] = time.perf_counter()
    else:
        records["gc"].append(
            (
                _gc_start[0],
                info["generation"],
                time.perf_counter() - _gc_start[0],
                info.get("collected", 0),
            )
        )


def _heartbeat(loop: asyncio.AbstractEventLoop) -> None:
    now = time.perf_counter()
    late = now - beat[0] - TICK
    thread_cpu, process_cpu = time.thread_time(), time.process_time()
    if late > LAG:
        # With the CPU the loop thread and the whole process used meanwhile: a stall the
        # process did not spend on a CPU was the machine's (another process had the core).
        records["lag"].append((beat[0] + TICK, late, thread_cpu - cpu[0], process_cpu - cpu[1]))
    beat[0], cpu[0], cpu[1] = now, thread_cpu, process_cpu
    loop.call_later(TICK, _heartbeat, loop)


def _watchdog() -> None:
    seen = 0.0
    while True:
        time.sleep(0.001)
        last = beat[0]
        if time.perf_counter() - last > LAG + TICK and last != seen and loop_thread:
            seen = last
            frame = sys._current_frames().get(loop_thread[0])
            if frame is not None:
                stack = traceback.format_stack(frame)[-12:]
                records["stacks"].append((time.perf_counter(), "".join(stack)))


def _wrap_app(app):
    async def probed(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        t0 = time.perf_counter()
        try:
            return await app(scope, receive, send)
        finally:
            rid = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"")
            records["requests"].append((t0, time.perf_counter() - t0, rid.decode("latin-1")))

    return probed


def _dump() -> None:
    Path(OUT).write_text(json.dumps(records))


def install() -> None:
    gc.callbacks.append(_gc_callback)
    import uvicorn

    original_startup = uvicorn.Server.startup

    async def startup(self, sockets=None):
        loop = asyncio.get_running_loop()
        loop_thread.append(threading.get_ident())
        beat[0] = time.perf_counter()
        loop.call_later(TICK, _heartbeat, loop)
        if os.environ.get("BENCH_PROBE_STACKS"):
            threading.Thread(target=_watchdog, daemon=True, name="probe-watchdog").start()
        return await original_startup(self, sockets=sockets)

    uvicorn.Server.startup = startup  # type: ignore[method-assign]
    original_load = uvicorn.Config.load

    def load(self):
        original_load(self)
        self.loaded_app = _wrap_app(self.loaded_app)

    uvicorn.Config.load = load  # type: ignore[method-assign]
    original_shutdown = uvicorn.Server.shutdown

    async def shutdown(self, sockets=None):
        _dump()  # uvicorn re-raises the stopping signal afterwards: no atexit
        return await original_shutdown(self, sockets=sockets)

    uvicorn.Server.shutdown = shutdown  # type: ignore[method-assign]
    # In the server, outside the app: from a request's first byte parsed to its response
    # written (what the client sees, less the kernel and the client).
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    begin, complete, made = (
        HttpToolsProtocol.on_message_begin,
        HttpToolsProtocol.on_response_complete,
        HttpToolsProtocol.connection_made,
    )

    def on_message_begin(self):
        now = self._probe_t = time.perf_counter()
        done = getattr(self, "_probe_done", None)
        if done is not None:
            # From this connection's last response written to its next request's first
            # byte parsed: the client's turn, the kernel's, and the server not reading.
            records["gaps"].append((done, now - done, id(self)))
        begin(self)

    def on_response_complete(self):
        t0 = getattr(self, "_probe_t", None)
        if t0 is not None:
            self._probe_done = time.perf_counter()
            records["server"].append((t0, self._probe_done - t0))
        complete(self)

    def connection_made(self, transport):
        records["connections"].append(time.perf_counter())
        made(self, transport)

    HttpToolsProtocol.on_message_begin = on_message_begin  # type: ignore[method-assign]
    HttpToolsProtocol.on_response_complete = on_response_complete  # type: ignore[method-assign]
    HttpToolsProtocol.connection_made = connection_made  # type: ignore[method-assign]


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    install()
    from authserver.cli import main

    sys.argv = ["authserver", *sys.argv[1:]]
    raise SystemExit(main())
