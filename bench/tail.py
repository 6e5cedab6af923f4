"""Where the latency tail comes from: one client_credentials run (SQLite) against a server
with stall probes (bench/probe.py), then wrk's distribution beside the probes' timeline.

    python bench/tail.py [--duration 10] [--connections 64] [--lag-ms 10] [--keep DIR]

Server pinned to core 0, wrk to core 1, as bench/run.py. Prints wrk's p50/p90/p99/max,
the in-app time per request, every garbage collection by generation, the event-loop
stalls (how many, how long, how much of the run) and which of them a collection explains,
and the loop thread's stacks during the longest stalls that were not a collection.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    BENCH_PASSWORD,
    LOAD_CORE,
    PYTHON,
    ROOT,
    authserver_env,
    free_port,
    lua_post,
    pinned,
    seed,
    start,
    stop,
)

CC_BODY = "grant_type=client_credentials&scope=api:read"

# Each request's own latency, on the client's side: wrk's figures add samples for the
# requests a slow one held back (its coordinated-omission correction), so one request of
# a second shows as a few dozen. Requests are told apart by X-Request-Id, which the server
# echoes; CLOCK_MONOTONIC is the server's perf_counter, so the timelines line up.
TIMESTAMPS_LUA = """
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } timespec;
int clock_gettime(int clk_id, timespec *tp);
]]
local ts = ffi.new("timespec")
local function now()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end
local n, sent, buf, out = 0, {}, {}, nil
wrk.method = "POST"
wrk.body = "%(body)s"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "%(auth)s"
request = function()
  n = n + 1
  local id = string.format("bench%%09d", n)
  sent[id] = now()
  wrk.headers["X-Request-Id"] = id
  return wrk.format()
end
response = function(status, headers, body)
  local id = headers["x-request-id"]
  if id and sent[id] then
    buf[#buf + 1] = string.format("%%s %%.6f %%.6f", id, sent[id], now())
    sent[id] = nil
  end
  if #buf >= 200 then
    if out == nil then out = io.open("%(out)s", "a") end
    out:write(table.concat(buf, "\\n") .. "\\n"); out:flush(); buf = {}
  end
end
"""


def wrk_latency(url: str, lua: Path, duration: int, connections: int) -> dict[str, float]:
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "30s", "--latency"]
    out = subprocess.run(
        pinned(LOAD_CORE, [*argv, "-s", str(lua), url]),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    figures = {"req/s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}  # type: ignore[union-attr]
    for label in ("50", "75", "90", "99"):
        m = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", out)
        if m:
            figures[f"p{label}"] = float(m.group(1)) * scale[m.group(2)]
    errors = re.findall(r"(Non-2xx or 3xx responses:\s+\d+|Socket errors:.*)", out)
    figures["errors"] = "; ".join(errors) or "none"  # type: ignore[assignment]
    m = re.search(r"Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)", out)
    if m:
        figures["max"] = float(m.group(1)) * scale[m.group(2)]
    return figures


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def report(probe: dict, since: float, until: float, lag_ms: float) -> None:
    gcs = [g for g in probe["gc"] if since <= g[0] <= until]
    lags = [lg for lg in probe["lag"] if since <= lg[0] <= until]
    reqs = [r[1] * 1000 for r in probe["requests"] if since <= r[0] <= until]
    span = until - since
    print(
        f"in-app time per request (ms, {len(reqs)} requests): p50 {pct(reqs, 0.5):.2f}  "
        f"p90 {pct(reqs, 0.9):.2f}  p99 {pct(reqs, 0.99):.2f}  max {max(reqs, default=0):.1f}"
    )
    served = [r[1] * 1000 for r in probe["server"] if since <= r[0] <= until]
    print(
        f"in-server time per request (ms): p50 {pct(served, 0.5):.2f}  p90 {pct(served, 0.9):.2f}  "
        f"p99 {pct(served, 0.99):.2f}  max {max(served, default=0):.1f}"
    )
    gaps = [g for g in probe["gaps"] if since <= g[0] <= until]
    gap_ms = [g[1] * 1000 for g in gaps]
    print(
        f"connection idle between a response and its next request (ms): p50 "
        f"{pct(gap_ms, 0.5):.2f}  p90 {pct(gap_ms, 0.9):.2f}  p99 {pct(gap_ms, 0.99):.2f}  "
        f"max {max(gap_ms, default=0):.1f}; over 100 ms: {sum(1 for g in gap_ms if g > 100)} "
        f"on {len({g[2] for g in gaps if g[1] > 0.1})} connections"
    )
    opened = sorted(c for c in probe["connections"] if since <= c <= until)
    spread = (opened[-1] - opened[0]) * 1000 if opened else 0.0
    print(
        f"connections opened during the run: {len(opened)}, the last {spread:.0f} ms after "
        f"the first (wrk opens them all at once)"
    )
    by_gen: dict[int, list[float]] = {0: [], 1: [], 2: []}
    for _, gen, dur, _ in gcs:
        by_gen[gen].append(dur * 1000)
    for gen, durs in by_gen.items():
        if durs:
            print(
                f"gc gen {gen}: {len(durs)} collections, total {sum(durs):.0f} ms, "
                f"max {max(durs):.1f} ms, p99 {pct(durs, 0.99):.2f} ms"
            )
    total = sum(lg[1] for lg in lags) * 1000
    print(
        f"event-loop stalls > {lag_ms:g} ms: {len(lags)}, total {total:.0f} ms "
        f"({total / 10 / span:.1f} % of the run), "
        f"max {max((lg[1] for lg in lags), default=0) * 1000:.0f} ms"
    )
    hist = Counter(min(int(lg[1] * 1000 // 25) * 25, 500) for lg in lags)
    print("  stalls by length (ms): " + ", ".join(f"{k}+: {v}" for k, v in sorted(hist.items())))

    def gc_inside(start: float, late: float) -> float:
        # The share of a stall (from its due time to its end) that collections fill.
        end = start + late
        return sum(max(0.0, min(end, g[0] + g[2]) - max(start, g[0])) for g in gcs)

    explained = sum(gc_inside(lg[0], lg[1]) for lg in lags) * 1000
    print(f"  of which garbage collection: {explained:.0f} ms")
    longest = sorted(lags, key=lambda lg: -lg[1])[:8]
    off_cpu = sum(max(0.0, lg[1] - lg[3]) for lg in lags) * 1000
    print(f"  of which the process was off the CPU (wall minus process CPU): {off_cpu:.0f} ms")
    for s, late, thread_cpu, process_cpu in longest:
        print(
            f"  stall at +{s - since:6.2f} s: {late * 1000:6.1f} ms, gc inside "
            f"{gc_inside(s, late) * 1000:6.1f} ms, loop thread CPU {thread_cpu * 1000:6.1f} ms, "
            f"process CPU {process_cpu * 1000:6.1f} ms"
        )
    stacks = Counter(
        st[1].strip().splitlines()[-2].strip() if st[1].strip() else "?"
        for st in probe["stacks"]
        if since <= st[0] <= until
    )
    if stacks:
        print("loop thread's innermost frames during stalls (watchdog samples):")
        for line, n in stacks.most_common(8):
            print(f"  {n:4d}  {line}")


def client_side(stamps: Path) -> None:
    rows = [line.split() for line in stamps.read_text().splitlines()]
    rows.sort(key=lambda r: int(r[0].removeprefix("bench")))
    lat = [(float(r[2]) - float(r[1])) * 1000 for r in rows]
    firsts = lat[:64]
    print(
        f"each request's own latency (ms, {len(lat)} requests, client side): p50 "
        f"{pct(lat, 0.5):.1f}  p90 {pct(lat, 0.9):.1f}  p99 {pct(lat, 0.99):.1f}  "
        f"p99.9 {pct(lat, 0.999):.1f}  max {max(lat, default=0):.1f}"
    )
    print(
        f"  the first request of each connection (ms): median {pct(firsts, 0.5):.0f}, "
        f"max {max(firsts, default=0):.0f}; every later one: max "
        f"{max(lat[64:], default=0):.0f}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--lag-ms", type=float, default=10)
    ap.add_argument("--stacks", action="store_true", help="sample the loop's stacks in stalls")
    ap.add_argument("--keep", type=Path, help="also copy the probe's raw JSON here")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="authserver-tail-"))
    port = free_port()
    try:
        env = authserver_env(work, port, None, None)
        creds = seed(env, {"password": BENCH_PASSWORD})
        out = work / "probe.json"
        env |= {
            "BENCH_PROBE_STACKS": "1" if args.stacks else "",
            "BENCH_PROBE_OUT": str(out),
            "BENCH_PROBE_LAG_MS": str(args.lag_ms),
        }
        argv = [PYTHON, str(ROOT / "bench" / "probe.py"), "serve", "--port", str(port)]
        proc = start(argv, env, str(work), f"http://127.0.0.1:{port}/readyz", "0")
        lua = lua_post(work / "cc.lua", CC_BODY, creds["cc"])
        stamps = work / "stamps.txt"
        timed = work / "timed.lua"
        timed.write_text(TIMESTAMPS_LUA % {"body": CC_BODY, "auth": creds["cc"], "out": stamps})
        url = f"http://127.0.0.1:{port}/token"
        try:
            wrk_latency(url, lua, 2, args.connections)  # warm-up
            time.sleep(1)
            t0 = time.perf_counter()
            figures = wrk_latency(url, timed, args.duration, args.connections)
            t1 = time.perf_counter()
        finally:
            stop(proc)
        probe = json.loads(out.read_text())
        if args.keep:
            shutil.copy(out, args.keep)
        print(
            f"wrk: {figures['req/s']:,.0f} req/s; latency ms p50 {figures.get('p50', 0):.1f}  "
            f"p75 {figures.get('p75', 0):.1f}  p90 {figures.get('p90', 0):.1f}  "
            f"p99 {figures.get('p99', 0):.1f}  max {figures.get('max', 0):.1f}; "
            f"errors: {figures['errors']}"
        )
        client_side(stamps)
        # perf_counter is CLOCK_MONOTONIC in both processes: the windows line up.
        report(probe, t0, t1, args.lag_ms)
        print(f"(load average at the end: {Path('/proc/loadavg').read_text().split()[0]})")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
