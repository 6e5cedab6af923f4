"""CPU cost per request of one scenario, in process: the ASGI app driven directly (no HTTP
server, no load generator), so the figure holds on a busy machine.

    python bench/micro.py SCENARIO N [--concurrency 16] [--postgres URL --redis-url URL]
    BENCH_CALLGRIND=1 valgrind --tool=callgrind --callgrind-out-file=cg.%p \
        python bench/micro.py cc 200

SCENARIO: cc, refresh, refresh_openid, code, jwks. Prints CPU microseconds per request
(process time: every thread) and the statements sent to the database per request.
Instruction counts: with BENCH_CALLGRIND set, the counters are zeroed when the measured
requests start and dumped when they end (``callgrind_control``): the dump's total
(``callgrind_annotate cg.PID.1 | head``) divided by N is the cost of one request.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    BENCH_PASSWORD,
    ROOT,
    authserver_env,
    drop_database,
    free_port,
    scratch_database,
    seed,
)

SCOPES = {"refresh": "api:read", "refresh_openid": "openid email api:read"}


class Driver:
    def __init__(self, app, state: dict, base_headers: list[tuple[bytes, bytes]]) -> None:
        self.app, self.state, self.base_headers = app, state, base_headers

    async def post(self, path: str, body: bytes, auth: str) -> tuple[int, bytes]:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [
                *self.base_headers,
                (b"content-type", b"application/x-www-form-urlencoded"),
                (b"content-length", str(len(body)).encode()),
                (b"authorization", auth.encode()),
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
            "state": self.state.copy(),
        }
        sent = False
        status, chunks = 0, []

        async def receive():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)

        async def send(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, b"".join(chunks)


async def lifespan(app, state: dict):
    queue: asyncio.Queue = asyncio.Queue()
    started = asyncio.Event()

    async def receive():
        return await queue.get()

    async def send(message):
        if message["type"] == "lifespan.startup.complete":
            started.set()
        elif message["type"] == "lifespan.startup.failed":
            raise SystemExit(message.get("message"))

    task = asyncio.create_task(app({"type": "lifespan", "state": state}, receive, send))
    await queue.put({"type": "lifespan.startup"})
    await started.wait()
    return task, queue


async def run(args, env: dict[str, str], creds: dict[str, str], work: Path) -> None:
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))  # the tree this bench/ belongs to, not the installed one
    from authserver.app import create_app
    from authserver.settings import load_settings

    settings = load_settings(env, env_file=None)
    # As `authserver serve` does: JSON access log lines (here into /dev/null).
    import logging

    from authserver.observability import configure_logging

    configure_logging(settings.log_level, settings.log_format)
    logging.getLogger().handlers[0].setStream(open(os.devnull, "w"))  # noqa: SIM115
    # As `authserver serve` builds it (the start-up heap frozen, where the tree has that).
    try:
        app = create_app(settings, freeze_gc=True)
    except TypeError:
        app = create_app(settings)
    state: dict = {}
    task, queue = await lifespan(app, state)
    driver = Driver(app, state, [(b"host", b"127.0.0.1")])
    bodies = make_bodies(args, creds, work)

    async def one(i: int) -> None:
        path, body, auth = bodies(i)
        status, out = await driver.post(path, body, auth)
        if status != 200:
            raise SystemExit(f"request {i}: {status} {out[:300]!r}")
        if args.scenario.startswith("refresh"):
            chains.append(out.split(b'"refresh_token":"')[1].split(b'"')[0].decode())

    chains: list[str] = []
    statements = count_statements(state["services"].db.engine, args.show_sql)
    # Warm-up, then the measured requests, `concurrency` at a time.
    for i in range(0, args.warmup, args.concurrency):
        await asyncio.gather(*(one(j) for j in range(i, min(args.warmup, i + args.concurrency))))
    gc_time = gc_watch()
    statements.clear()
    callgrind("-z")  # zero the counters: the dump counts the measured requests only
    cpu0, wall0, loop0 = time.process_time(), time.perf_counter(), time.thread_time()
    times0 = os.times()
    threads0 = thread_cpu()
    end = args.warmup + args.n
    profiler = None
    if args.cprofile:
        import cProfile

        profiler = cProfile.Profile(time.thread_time)  # the event loop's thread only
        profiler.enable()
    for i in range(args.warmup, end, args.concurrency):
        await asyncio.gather(*(one(j) for j in range(i, min(end, i + args.concurrency))))
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.cprofile)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    loop_cpu = time.thread_time() - loop0  # this coroutine runs on the event loop's thread
    times = os.times()
    user, system = times.user - times0.user, times.system - times0.system
    callgrind("-d", f"measured {args.scenario} {args.n}")
    collections, seconds = gc_time()
    if args.threads:
        for name, ticks in sorted(thread_cpu(threads0).items(), key=lambda kv: -kv[1])[:8]:
            print(
                f"thread {name}: {ticks / os.sysconf('SC_CLK_TCK') / args.n * 1e6:,.0f} us/request"
            )
    print(
        "database: "
        + ", ".join(f"{n / args.n:.2f} {kind}" for kind, n in sorted(statements.items()))
        + " per request"
    )
    print(
        f"gc: {collections} collections ({sum(collections)}), "
        f"{seconds / args.n * 1e6:,.0f} us/request"
    )
    print(
        f"{args.scenario}: {args.n} requests, CPU {cpu / args.n * 1e6:,.0f} us/request, "
        f"wall {args.n / wall:,.0f} req/s (event loop thread {loop_cpu / args.n * 1e6:,.0f} us, "
        f"other threads {(cpu - loop_cpu) / args.n * 1e6:,.0f} us; "
        f"user {user / args.n * 1e6:,.0f} us, system {system / args.n * 1e6:,.0f} us)"
    )
    await queue.put({"type": "lifespan.shutdown"})
    await task


def thread_cpu(since: dict[str, int] | None = None) -> dict[str, int]:
    """CPU ticks (user + system) of each thread of this process, by name and id."""
    out: dict[str, int] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        key = f"{name}/{task.name}"
        out[key] = int(fields[11]) + int(fields[12]) - (since or {}).get(key, 0)
    return out


def callgrind(*argv: str) -> None:
    """Under ``valgrind --tool=callgrind``: control it (``callgrind_control``)."""
    if os.environ.get("BENCH_CALLGRIND"):
        subprocess.run(["callgrind_control", *argv, str(os.getpid())], check=True)


def count_statements(engine, show: bool):
    """Statements, commits and rollbacks the app sends its database, by kind."""
    from collections import Counter

    from sqlalchemy import event

    seen: Counter[str] = Counter()

    def statement(conn, cursor, sql, params, context, executemany) -> None:
        seen[sql.split(None, 1)[0].upper()] += 1
        if show:
            print(sql.replace("\n", " ")[:160], file=sys.stderr)

    event.listen(engine, "before_cursor_execute", statement)
    try:  # statements sent on the driver's cursor (storage.pg_direct) pass no event
        from authserver.storage import pg_direct

        run = pg_direct._run

        def counted(conn, stmt, params, fetch):
            statement(conn, None, pg_direct._sql(conn, stmt), params, None, False)
            return run(conn, stmt, params, fetch)

        pg_direct._run = counted
    except ImportError:
        pass
    try:  # and those awaited on the event loop (storage.pg_loop)
        from authserver.storage import pg_loop

        loop_run, loop_commit = pg_loop._run, pg_loop._commit

        def loop_counted(conn, sql, params, fetch):
            statement(conn, None, sql, params, None, False)
            return loop_run(conn, sql, params, fetch)

        def loop_committed(conn):
            seen.update(["COMMIT"])
            return loop_commit(conn)

        pg_loop._run, pg_loop._commit = loop_counted, loop_committed
    except ImportError:
        pass
    event.listen(engine, "commit", lambda conn: seen.update(["COMMIT"]))
    event.listen(engine, "rollback", lambda conn: seen.update(["ROLLBACK"]))
    return seen


def gc_watch():
    """Collections per generation and the time they took, from now on."""
    import gc

    counts, spent, started = [0, 0, 0], [0.0], [0.0]

    def callback(phase: str, info: dict) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            counts[info["generation"]] += 1
            spent[0] += time.perf_counter() - started[0]

    gc.callbacks.append(callback)
    return lambda: (counts, spent[0])


def make_bodies(args, creds, work: Path):
    cc_body = b"grant_type=client_credentials&scope=api:read"
    if args.scenario == "cc":
        return lambda i: ("/token", cc_body, creds["cc"])
    if args.scenario.startswith("refresh"):
        fresh = (work / "rt.txt").read_text().split()
        chains: list[str] = []

        def refresh(i: int):
            token = chains.pop() if chains else fresh.pop()
            return (
                "/token",
                f"grant_type=refresh_token&refresh_token={token}".encode(),
                creds["app"],
            )

        return refresh
    if args.scenario == "code":
        codes = (work / "codes.txt").read_text().split()
        prefix = (
            f"grant_type=authorization_code&redirect_uri={quote(creds['redirect_uri'], '')}"
            f"&code_verifier={creds['code_verifier']}&code="
        )
        return lambda i: ("/token", (prefix + codes[i]).encode(), creds["web"])
    raise SystemExit(f"unknown scenario {args.scenario}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario")
    ap.add_argument("n", type=int)
    ap.add_argument("--warmup", type=int, default=64)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--postgres")
    ap.add_argument("--redis-url")
    ap.add_argument("--threads", action="store_true", help="CPU per request of each thread")
    ap.add_argument("--cprofile", help="write a cProfile of the measured requests here")
    ap.add_argument("--show-sql", action="store_true", help="print each statement (stderr)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="authserver-micro-"))
    database_url = scratch_database(args.postgres, "_micro") if args.postgres else None
    try:
        env = authserver_env(work, free_port(), database_url, args.redis_url)
        total = args.warmup + args.n
        spec = {"password": BENCH_PASSWORD}
        if args.scenario in SCOPES:
            spec["refresh"] = [
                {"scope": SCOPES[args.scenario], "count": total, "file": str(work / "rt.txt")}
            ]
        if args.scenario == "code":
            spec["codes"] = {"count": total, "file": str(work / "codes.txt")}
        creds = seed(env, spec)
        env["AUTHSERVER_AUTO_MIGRATE"] = "false"  # seed.py migrated
        import uvloop

        uvloop.run(run(args, env, creds, work))
    finally:
        if database_url:
            drop_database(args.postgres, database_url)


if __name__ == "__main__":
    main()
