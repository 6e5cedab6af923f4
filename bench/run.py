"""Load benchmark of a real authserver process.

    python bench/run.py [--duration 20] [--runs 3] [--connections 64]
                        [--database-url postgresql+psycopg://...] [--redis-url redis://...]
                        [--workers 1] [--only client_credentials,jwks,...]

The server runs under uvicorn (uvloop + httptools) pinned to core 0 with `taskset`; `wrk`
runs pinned to core 1. Before the load, the same core measures the raw ceilings: RSA-2048
PKCS#1 v1.5 SHA-256 signs per second and argon2id verifications per second with the
server's parameters. Every result is printed beside the ceiling that bounds it and the
ratio. Medians of ``--runs`` runs, with min-max.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
BENCH_PASSWORD = "correct horse battery staple"

RAW_SIGN = """
import time
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
msg = b"x" * 300
n, t0 = 0, time.perf_counter()
while time.perf_counter() - t0 < {seconds}:
    key.sign(msg, padding.PKCS1v15(), hashes.SHA256()); n += 1
print(n / (time.perf_counter() - t0))
"""

RAW_ARGON2 = """
import time
from argon2 import PasswordHasher, Type
ph = PasswordHasher(time_cost={t}, memory_cost={m}, parallelism={p}, type=Type.ID)
h = ph.hash("pw")
n, t0 = 0, time.perf_counter()
while time.perf_counter() - t0 < {seconds}:
    ph.verify(h, "pw"); n += 1
print(n / (time.perf_counter() - t0))
"""


@dataclass
class Result:
    rps: float
    p99_ms: float
    errors: int


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pinned(core: str, argv: list[str]) -> list[str]:
    return ["taskset", "-c", core, *argv] if shutil.which("taskset") else argv


def measure(script: str, core: str) -> float:
    out = subprocess.run(
        pinned(core, [PYTHON, "-c", script]), capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip())


def wrk(url: str, lua: Path | None, duration: int, connections: int) -> Result:
    argv = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "30s",
        "--latency",
        url,
    ]
    if lua:
        argv[1:1] = ["-s", str(lua)]
    out = subprocess.run(pinned("1", argv), capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    errors = 0
    for pattern in (r"Non-2xx or 3xx responses:\s+(\d+)", r"Socket errors:.*?timeout (\d+)"):
        m = re.search(pattern, out)
        errors += int(m.group(1)) if m else 0
    return Result(rps, float(p99.group(1)) * scale, errors)


def lua_post(path: Path, body: str, auth: str | None = None) -> Path:
    headers = ['wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"']
    if auth:
        headers.append(f'wrk.headers["Authorization"] = "{auth}"')
    path.write_text(
        'wrk.method = "POST"\n' + f"wrk.body = {json.dumps(body)}\n" + "\n".join(headers)
    )
    return path


def lua_refresh(path: Path, tokens_file: Path, auth: str) -> Path:
    # Every request presents a fresh, never-used refresh token (rotation would refuse a
    # reused one and revoke its family).
    path.write_text(f"""
local tokens = {{}}
for line in io.lines("{tokens_file}") do tokens[#tokens + 1] = line end
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "{auth}"
request = function()
  i = i + 1
  return wrk.format(nil, nil, nil, "grant_type=refresh_token&refresh_token=" .. tokens[i])
end
""")
    return path


def seed(env: dict[str, str], refresh_tokens: int, extra_clients: int) -> dict[str, str]:
    """Clients, a user and pre-minted refresh tokens (bench/seed.py)."""
    tokens_file = Path(env["BENCH_DIR"]) / "refresh_tokens.txt"
    argv = [
        PYTHON,
        str(ROOT / "bench" / "seed.py"),
        str(tokens_file),
        str(refresh_tokens),
        BENCH_PASSWORD,
    ]
    out = subprocess.run(
        argv, env=env, cwd=env["BENCH_DIR"], capture_output=True, text=True, check=True
    )
    creds: dict[str, str] = json.loads(out.stdout.strip().splitlines()[-1])
    creds["tokens_file"] = str(tokens_file)
    return creds


def start_server(env: dict[str, str], port: int, workers: int) -> subprocess.Popen[bytes]:
    # One worker: pinned to core 0 (the load generator has core 1). Several: unpinned.
    cores = "0" if workers == 1 else "0,1"
    argv = pinned(
        cores, [PYTHON, "-m", "authserver", "serve", "--port", str(port), "--workers", str(workers)]
    )
    proc = subprocess.Popen(
        argv,
        env=env,
        cwd=env["BENCH_DIR"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.2)
    stop(proc)
    raise SystemExit("server did not become ready")


def stop(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)


def token_scenario(lua_dir: Path, name: str, base: str, creds: dict[str, str]) -> Path:
    """Lua for scenarios that need a token from the running server."""
    import httpx2

    if name == "introspection":
        r = httpx2.post(
            f"{base}/token",
            headers={"Authorization": creds["cc"]},
            data={"grant_type": "client_credentials"},
        )
        body = "token=" + r.json()["access_token"]
        return lua_post(lua_dir / "introspect.lua", body, creds["cc"])
    r = httpx2.post(
        f"{base}/token",
        headers={"Authorization": creds["app"]},
        data={
            "grant_type": "password",
            "username": "bench@example.com",
            "password": BENCH_PASSWORD,
            "scope": "admin",
        },
    )
    path = lua_dir / "admin.lua"
    path.write_text(f'wrk.headers["Authorization"] = "Bearer {r.json()["access_token"]}"\n')
    return path


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):>9,.0f}  ({min(values):,.0f}-{max(values):,.0f})"


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--duration", type=int, default=20)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument(
        "--postgres",
        metavar="ADMIN_URL",
        help="run on PostgreSQL: a scratch database is created through this URL "
        "(e.g. postgresql+psycopg://postgres@127.0.0.1/test) and dropped after",
    )
    ap.add_argument("--redis-url")
    ap.add_argument(
        "--only",
        default="client_credentials,refresh_token,password,jwks,introspection,admin_clients",
    )
    args = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    scenarios = args.only.split(",")

    work = Path(tempfile.mkdtemp(prefix="authserver-bench-"))
    port = free_port()
    database_url = scratch_database(args.postgres) if args.postgres else None
    try:
        return bench(args, scenarios, work, port, database_url)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if args.postgres and database_url:
            drop_database(args.postgres, database_url)


def scratch_database(admin_url: str) -> str:
    import sqlalchemy as sa

    name = f"authserver_bench_{os.getpid()}"
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, database_url: str) -> None:
    import sqlalchemy as sa

    name = sa.engine.make_url(database_url).database
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def bench(
    args: argparse.Namespace, scenarios: list[str], work: Path, port: int, database_url: str | None
) -> int:
    env = {
        **os.environ,
        "BENCH_DIR": str(work),
        "AUTHSERVER_ISSUER": f"http://127.0.0.1:{port}",
        "AUTHSERVER_DATABASE_URL": database_url or f"sqlite:///{work}/bench.db",
        "AUTHSERVER_KEYS_DIR": str(work / "keys"),
        "AUTHSERVER_AUTO_MIGRATE": "true",
        "PYTHONPATH": str(ROOT),
    }
    if args.redis_url:
        env["AUTHSERVER_REDIS_URL"] = args.redis_url
        env["AUTHSERVER_REDIS_PREFIX"] = f"bench-{port}:"
    # Enough for ~2,500 refreshes/s per worker; each run gets its own slice.
    per_run_tokens = int(2500 * args.duration * max(1, args.workers))
    need_tokens = per_run_tokens * args.runs if "refresh_token" in scenarios else 0

    from authserver.settings import load_settings

    settings = load_settings(env, env_file=None)
    print(
        f"# authserver bench: {args.workers} worker(s), {args.connections} connections, "
        f"{args.runs} x {args.duration}s, database {settings.database_url.split(':')[0]}, "
        f"redis {'yes' if settings.redis_url else 'no'}"
    )
    print(f"# cpu: {os.cpu_count()} cores; server on core 0, wrk on core 1")
    creds = seed(env, need_tokens, 10_000 if "admin_clients" in scenarios else 0)
    raw_sign = measure(RAW_SIGN.format(seconds=3), "0")
    raw_hash = measure(
        RAW_ARGON2.format(
            t=settings.argon2_time_cost,
            m=settings.argon2_memory_kib,
            p=settings.argon2_parallelism,
            seconds=3,
        ),
        "0",
    )
    print(f"# raw RSA-2048 sign rate (core 0, this run): {raw_sign:,.0f}/s")
    print(f"# raw argon2id verify rate (core 0, this run): {raw_hash:,.1f}/s")

    base = f"http://127.0.0.1:{port}"
    lua_dir = work / "lua"
    lua_dir.mkdir()
    plans = {
        "client_credentials": (
            f"{base}/token",
            lua_post(lua_dir / "cc.lua", "grant_type=client_credentials", creds["cc"]),
            raw_sign,
        ),
        "refresh_token": (f"{base}/token", None, raw_sign),
        "password": (
            f"{base}/token",
            lua_post(
                lua_dir / "pw.lua",
                "grant_type=password&username=bench%40example.com&password="
                + BENCH_PASSWORD.replace(" ", "+"),
                creds["app"],
            ),
            raw_hash,
        ),
        "jwks": (f"{base}/.well-known/jwks.json", None, None),
        # An access token checked by a resource server (signature, deny list, family state).
        "introspection": (f"{base}/introspect", None, raw_sign),
        # GET /admin/clients?limit=100 with 10,000 clients registered.
        "admin_clients": (f"{base}/admin/clients?limit=100&offset=5000", None, None),
    }
    tokens = Path(creds["tokens_file"]).read_text().split()
    print(f"{'scenario':<20}{'req/s median (min-max)':>30}{'p99 ms':>10}{'errors':>8}  vs ceiling")
    for name in scenarios:
        url, lua, ceiling = plans[name]
        rps, p99s, ratios, errs = [], [], [], 0
        for run in range(args.runs):
            if name == "refresh_token":
                chunk = lua_dir / f"tokens{run}.txt"
                chunk.write_text(
                    "\n".join(tokens[run * per_run_tokens : (run + 1) * per_run_tokens]) + "\n"
                )
                lua = lua_refresh(lua_dir / f"rt{run}.lua", chunk, creds["app"])
            # The machine is shared and noisy: measure the ceiling right before each run
            # and compare each run with its own ceiling.
            run_ceiling = None
            if ceiling is not None:
                run_ceiling = measure(
                    (RAW_SIGN if ceiling is raw_sign else RAW_ARGON2).format(
                        seconds=2,
                        t=settings.argon2_time_cost,
                        m=settings.argon2_memory_kib,
                        p=settings.argon2_parallelism,
                    ),
                    "0",
                )
            proc = start_server(env, port, args.workers)
            if name in ("introspection", "admin_clients"):
                lua = token_scenario(lua_dir, name, base, creds)
            try:
                # Password hashing takes ~100 ms: a few connections saturate it.
                conns = min(args.connections, 8) if name == "password" else args.connections
                # Warm-up (client_credentials for refresh: its tokens are single-use).
                warm = plans["client_credentials"][1] if name == "refresh_token" else lua
                wrk(url, warm, 2, conns)
                time.sleep(1 if name != "password" else 3)
                res = wrk(url, lua, args.duration, conns)
            finally:
                stop(proc)
            rps.append(res.rps)
            if run_ceiling:
                ratios.append(res.rps / run_ceiling)
            p99s.append(res.p99_ms)
            errs += res.errors
        ratio = (
            f"{statistics.median(ratios):6.1%} (runs {min(ratios):.0%}-{max(ratios):.0%}) of the "
            f"ceiling measured before each run; first: {ceiling:,.0f}/s"
            if ratios
            else ""
        )
        print(f"{name:<20}{summary(rps):>30}{statistics.median(p99s):>10.1f}{errs:>8}  {ratio}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
